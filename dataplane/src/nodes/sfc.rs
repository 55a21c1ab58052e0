//! Service function chaining: the classifier, NSH encapsulation, the Service Function Forwarder,
//! the SFC proxy and the built-in SFs (RFC 7665, RFC 8300), run to completion per packet.
//!
//! Packet path:
//! - **ethernet input** demultiplexes: frames back from a proxied SF (by port and VLAN), NSH over
//!   Ethernet (0x894F), VXLAN-GPE (UDP 4790) addressed to one of our VTEPs, or plain traffic for the
//!   classifier.
//! - **SFF ingress** (RFC 8300 §2.2, §2.3): the NSH header is checked; O-bit (OAM) packets go to
//!   the slow path, never forwarded; TTL is decremented before the lookup and what reaches 0 is
//!   dropped; SI 0 is dropped.
//! - **SFF forwarding**: (SPI, SI) → an SF (built in, NSH-aware behind a neighbour, behind the
//!   proxy, or a group of instances picked by a symmetric hash of the inner 5-tuple), a remote SFF
//!   (VXLAN-GPE or NSH over Ethernet), or the end of the chain (NSH popped, the inner packet sent
//!   out of an exit). Built-in SFs run in place and hand the packet back with SI − 1.
//! - **classifier** (RFC 7665 §4.4): rules on the inner packet pick a path (NSH pushed with the
//!   path's metadata, next protocol Ethernet), an exit, or drop.
//!
//! MD type 1 context and MD type 2 TLVs pass through unchanged. Limits: single-segment buffers; the
//! headers pushed must fit the buffer's headroom (`no-headroom` otherwise); the proxy keeps NSH
//! headers of at most [`PROXY_HEADER_MAX`] bytes per flow, in a fixed-size table per worker.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::config::{parse_hex, parse_prefix, Pipeline, RuleConfig, SfKind};
use crate::packet::PacketBuf;
use crate::slowpath::SlowReason;
use crate::stats::DropReason;
use crate::tables::classifier::{
    Classifier, ClassifierAction, ClassifierRule, FlowCache, IpPrefix, MatchKey, PortRange,
};
use crate::wire::{
    checksum, ipv4, ipv6, l2_parse, nsh, udp, vxlan_gpe, Error as WireError, EtherType, FlowKey,
    IpProtocol, L2Info, Md2TlvRepr, NshMetadata, NshNextProtocol, NshRepr,
};

/// A hasher for the SFF table's `u32` keys: one multiply (keys are (SPI << 8) | SI).
#[derive(Debug, Default, Clone, Copy)]
struct SffKeyHasher(u64);

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
}

/// Where a path's hops sit in the SFF's hop arena: the hop for SI `si` is
/// `arena[offset + (si - lo)]` when `lo <= si < lo + len`. All paths share one arena, so a lookup
/// is one hash probe and one read from a compact array, even with 10k paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PathHops {
    offset: u32,
    lo: u8,
    len: u16,
}

/// SPI → the path's hops.
type SffMap = HashMap<u32, PathHops, std::hash::BuildHasherDefault<SffKeyHasher>>;

/// What happens to a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it out of this port (index into the pipeline's ports).
    Tx(usize),
    /// Drop it, counted under this reason.
    Drop(DropReason),
    /// Hand it to the slow path (it starts at the header concerned).
    SlowPath(SlowReason),
}

/// Records what each node did to a packet (`qdpctl trace`). [`NoTrace`] compiles to nothing.
pub trait Tracer {
    /// Whether anything is recorded; callers skip building the details when not.
    const ON: bool;
    /// One node's record.
    fn step(&mut self, node: &'static str, detail: std::fmt::Arguments<'_>);
}

/// The tracer of the fast path: records nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTrace;

impl Tracer for NoTrace {
    const ON: bool = false;
    #[inline(always)]
    fn step(&mut self, _node: &'static str, _detail: std::fmt::Arguments<'_>) {}
}

/// A tracer that keeps every record, in order.
#[derive(Debug, Default, Clone)]
pub struct TraceLog(pub Vec<(&'static str, String)>);

impl Tracer for TraceLog {
    const ON: bool = true;
    fn step(&mut self, node: &'static str, detail: std::fmt::Arguments<'_>) {
        self.0.push((node, detail.to_string()));
    }
}

/// Packets one SF instance handled, one cache-line-sized slot per worker (each written only by
/// its worker). Kept across table swaps for SFs that keep their name.
#[derive(Debug)]
pub struct SfCounter {
    per_worker: Box<[crossbeam::utils::CachePadded<std::sync::atomic::AtomicU64>]>,
}

impl SfCounter {
    fn new(workers: usize) -> Arc<SfCounter> {
        Arc::new(SfCounter {
            per_worker: (0..workers.max(1)).map(|_| Default::default()).collect(),
        })
    }

    fn load(&self, worker: usize) -> u64 {
        self.per_worker
            .get(worker)
            .map_or(0, |c| c.load(std::sync::atomic::Ordering::Relaxed))
    }

    fn total(&self) -> u64 {
        self.per_worker
            .iter()
            .map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
            .sum()
    }
}

/// Largest NSH header the proxy keeps per flow.
pub const PROXY_HEADER_MAX: usize = 64;

const ETH_LEN: usize = 14;
const GPE4_LEN: usize = ETH_LEN + 20 + 8 + 8;
const GPE6_LEN: usize = ETH_LEN + 40 + 8 + 8;
const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];
const ETHERTYPE_IPV6: [u8; 2] = [0x86, 0xdd];
const ETHERTYPE_NSH: [u8; 2] = [0x89, 0x4f];
const ETHERTYPE_VLAN: [u8; 2] = [0x81, 0x00];

/// How a neighbour is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// NSH directly over Ethernet.
    Ethernet,
    /// VXLAN-GPE over IPv4: the outer headers, ready to copy.
    Gpe4(Gpe4Header),
    /// VXLAN-GPE over IPv6.
    Gpe6 {
        src: [u8; 16],
        dst: [u8; 16],
        vni: u32,
    },
}

/// The outer Ethernet, IPv4, UDP and VXLAN-GPE headers toward one neighbour, with the fields that
/// vary per packet (IPv4 total length and checksum, UDP source port and length) left zero, and the
/// ones' complement sum of the IPv4 header as it stands, so that a packet's header checksum is one
/// addition away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Gpe4Header {
    bytes: [u8; GPE4_LEN],
    ip_sum: u16,
}

impl Gpe4Header {
    fn new(dst_mac: [u8; 6], src_mac: [u8; 6], src: [u8; 4], dst: [u8; 4], vni: u32) -> Self {
        let mut bytes = [0u8; GPE4_LEN];
        bytes[0..6].copy_from_slice(&dst_mac);
        bytes[6..12].copy_from_slice(&src_mac);
        bytes[12..14].copy_from_slice(&ETHERTYPE_IPV4);
        let ip = &mut bytes[ETH_LEN..ETH_LEN + 20];
        ip[0] = 0x45;
        ip[6..8].copy_from_slice(&[0x40, 0]); // don't fragment
        ip[8] = 64;
        ip[9] = 17;
        ip[12..16].copy_from_slice(&src);
        ip[16..20].copy_from_slice(&dst);
        let ip_sum = checksum::data(ip);
        SfcTables::write_udp_gpe(&mut bytes[ETH_LEN + 20..], 0, 0, vni);
        Gpe4Header { bytes, ip_sum }
    }

    /// Writes the headers over `d[..GPE4_LEN]` for a packet of `d.len()` bytes in all.
    #[inline(always)]
    fn write(&self, d: &mut [u8], sport: u16) {
        let ip_len = (d.len() - ETH_LEN) as u16;
        let Some(h) = d.first_chunk_mut::<GPE4_LEN>() else {
            return;
        };
        *h = self.bytes;
        h[16..18].copy_from_slice(&ip_len.to_be_bytes());
        let c = checksum::finish(checksum::combine(&[self.ip_sum, ip_len]));
        h[24..26].copy_from_slice(&c.to_be_bytes());
        h[34..36].copy_from_slice(&sport.to_be_bytes());
        h[38..40].copy_from_slice(&(ip_len - 20).to_be_bytes());
    }
}

#[derive(Debug, Clone)]
struct Neighbor {
    port: usize,
    mac: [u8; 6],
    /// Its MAC is to be found by ARP and is not known yet.
    unresolved: bool,
    src_mac: [u8; 6],
    transport: Transport,
}

#[derive(Debug)]
enum SfImpl {
    Counter,
    Firewall {
        rules: Classifier,
        default_allow: bool,
    },
    Remote(usize),
    Proxy {
        port: usize,
        vlan: Option<u16>,
        mac: Option<[u8; 6]>,
        /// Its MAC is to be found by ARP and is not known yet.
        unresolved: bool,
    },
    Group(Vec<usize>),
}

#[derive(Debug)]
struct Sf {
    name: String,
    imp: SfImpl,
    down: bool,
    counter: Arc<SfCounter>,
}

#[derive(Debug, Clone)]
struct Exit {
    port: usize,
    dst_mac: Option<[u8; 6]>,
    src_mac: [u8; 6],
    /// Its gateway's MAC is to be found by ARP and is not known yet.
    unresolved: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hop {
    Sf(usize),
    Sff(usize),
    End(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleAction {
    Path(usize),
    Exit(usize),
    Drop,
}

#[derive(Debug, Clone)]
struct PathRt {
    /// The NSH header the classifier pushes (TTL, SPI and starting SI filled in).
    nsh: Vec<u8>,
}

/// The compiled, immutable SFC tables of a pipeline. Workers share one and keep their mutable
/// state in a [`SfcState`] each.
#[derive(Debug)]
pub struct SfcTables {
    vteps: Vec<(usize, IpAddr)>,
    neighbors: Vec<Neighbor>,
    sfs: Vec<Sf>,
    exits: Vec<Exit>,
    paths: Vec<PathRt>,
    sff: SffMap,
    hop_arena: Vec<Option<Hop>>,
    classifier: Classifier,
    rule_actions: Vec<RuleAction>,
    unmatched: Option<usize>,
    proxies: HashMap<(usize, Option<u16>), usize>,
    flow_cache: usize,
    proxy_flows: usize,
    /// Our IPv4 addresses (port index, address): ARP and ICMP for them go to the host stack.
    host4: Vec<(usize, [u8; 4])>,
    /// Names, for traces.
    path_names: Vec<String>,
    exit_names: Vec<String>,
    neighbor_names: Vec<String>,
    /// Our IPv4 VTEP addresses, as read from a packet (network order in a `u32`).
    vtep4: Vec<u32>,
    /// One bit per pipeline port whose untagged frames no proxy claims: where the transit fast
    /// path may look.
    fast_ports: u64,
}

/// A worker's mutable SFC state.
#[derive(Debug)]
pub struct SfcState {
    /// Packets each SF instance handled (built-in, remote and proxied), by SF index.
    pub sf_packets: Vec<u64>,
    cache: FlowCache,
    /// One flow cache per SF (used by firewalls only; tiny for the others).
    sf_caches: Vec<FlowCache>,
    proxy: ProxyTable,
    /// The transit fast path's last decision, so that a run of packets on one (SPI, SI) reads
    /// no table.
    transit: TransitMemo,
}

/// The outcome of the last transit fast-path lookup: `(SPI, SI)` → output port and outer headers,
/// and the signature of the packet that made it.
#[derive(Debug, Clone, Copy)]
struct TransitMemo {
    /// SPI and SI as they sit in the NSH service path header (`u64::MAX`: none).
    key: u64,
    port: usize,
    hdr: Gpe4Header,
    /// [`SIG_MASK`] applied to the words of the MD type 1 packet that passed every check and set
    /// this memo; [`NO_SIG`] when it was MD type 2, whose TLVs each packet must have checked.
    sig: [u64; SIG_WORDS],
}

/// The NSH TTL's bits in the header's first 16 bits (version 2, O 1, U 1, TTL 6, length 6), and
/// a TTL of one in them.
const NSH_TTL_BITS: u16 = 0x0fc0;
const NSH_TTL_ONE: u16 = 0x0040;

/// Where the signature words start: the EtherType.
const SIG_AT: usize = 12;
const SIG_WORDS: usize = 6;
/// The bits of bytes 12..60 (EtherType to the end of the NSH service path header, as
/// little-endian words) that the transit checks compare with constants, the destination address
/// (one of our VTEPs) and the SPI and SI. A packet that has them all equal to those of a packet
/// that passed every check passes those checks too; only the lengths, the IPv4 header checksum and
/// the NSH TTL are left to check per packet.
const SIG_MASK: [u64; SIG_WORDS] = [
    // 12..20: EtherType, IPv4 version and IHL.
    u64::from_le_bytes([0xff, 0xff, 0xff, 0, 0, 0, 0, 0]),
    // 20..28: MF bit and fragment offset; protocol.
    u64::from_le_bytes([0x3f, 0xff, 0, 0xff, 0, 0, 0, 0]),
    // 28..36: destination address.
    u64::from_le_bytes([0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0]),
    // 36..44: UDP destination port; VXLAN-GPE version bits and P bit.
    u64::from_le_bytes([0xff, 0xff, 0, 0, 0, 0, 0x34, 0]),
    // 44..52: VXLAN-GPE next protocol; NSH version, O bit and length.
    u64::from_le_bytes([0, 0xff, 0, 0, 0, 0, 0xe0, 0x3f]),
    // 52..60: NSH MD type; SPI and SI.
    u64::from_le_bytes([0x0f, 0, 0xff, 0xff, 0xff, 0xff, 0, 0]),
];
/// A signature no packet has (it has bits outside the mask).
const NO_SIG: [u64; SIG_WORDS] = [u64::MAX; SIG_WORDS];

/// The signature words of `d` (at least 60 bytes long).
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

const NO_MEMO: TransitMemo = TransitMemo {
    key: u64::MAX,
    port: 0,
    hdr: Gpe4Header {
        bytes: [0; GPE4_LEN],
        ip_sum: 0,
    },
    sig: NO_SIG,
};

fn mac(m: crate::wire::EthernetAddress) -> [u8; 6] {
    m.0
}

/// Builds a classifier rule from its configuration (shared by the classifier and the firewall).
fn build_rule(p: &Pipeline, r: &RuleConfig, action: ClassifierAction) -> ClassifierRule {
    let prefix = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| parse_prefix(s).ok())
            .map(|(a, l)| match a {
                IpAddr::V4(v4) => {
                    IpPrefix::ipv4(crate::wire::Ipv4Address::from_bytes(&v4.octets()), l)
                }
                IpAddr::V6(v6) => {
                    IpPrefix::ipv6(crate::wire::Ipv6Address::from_bytes(&v6.octets()), l)
                }
            })
    };
    let range = |s: &Option<crate::config::PortSpec>| {
        s.as_ref()
            .and_then(|s| s.range().ok())
            .map(|(lo, hi)| PortRange { lo, hi })
    };
    ClassifierRule {
        priority: r.priority,
        in_port: r
            .in_port
            .as_deref()
            .and_then(|n| p.port_index(n))
            .map(|i| i as u16),
        vlan: r.vlan,
        src: prefix(&r.src),
        dst: prefix(&r.dst),
        protocol: r.protocol.as_ref().and_then(|x| x.number().ok()),
        src_ports: range(&r.src_ports),
        dst_ports: range(&r.dst_ports),
        action,
    }
}

impl SfcTables {
    /// Compiles the SFC sections of a validated pipeline. `port_macs` are the MAC addresses of the
    /// pipeline's ports (source MAC of what leaves them unless a VTEP or exit says otherwise).
    pub fn build(p: &Pipeline, port_macs: &[[u8; 6]]) -> Result<SfcTables, String> {
        Self::build_from(p, port_macs, None)
    }

    /// [`build`](Self::build) for a change to running tables: SFs that keep their name keep their
    /// packet counters.
    pub fn build_from(
        p: &Pipeline,
        port_macs: &[[u8; 6]],
        prev: Option<&SfcTables>,
    ) -> Result<SfcTables, String> {
        let counter_for = |name: &str| {
            prev.and_then(|t| t.sfs.iter().find(|s| s.name == name))
                .map(|s| Arc::clone(&s.counter))
                .unwrap_or_else(|| SfCounter::new(p.workers.len()))
        };
        let port = |n: &str| {
            p.port_index(n)
                .ok_or_else(|| format!("no port called '{n}'"))
        };
        let port_mac = |i: usize| port_macs.get(i).copied().unwrap_or([0; 6]);
        let vteps: Vec<(usize, IpAddr)> = p
            .vteps
            .iter()
            .map(|v| Ok((port(&v.port)?, v.address)))
            .collect::<Result<_, String>>()?;
        let mut neighbors = Vec::new();
        for n in &p.neighbors {
            let pi = port(&n.port)?;
            let vtep = |v4: bool| {
                p.vteps
                    .iter()
                    .find(|v| v.port == n.port && v.address.is_ipv4() == v4)
            };
            let src_mac = vtep(n.address.is_none_or(|a| a.is_ipv4()))
                .map(|v| mac(v.mac))
                .or_else(|| {
                    p.vteps
                        .iter()
                        .find(|v| v.port == n.port)
                        .map(|v| mac(v.mac))
                })
                .unwrap_or_else(|| port_mac(pi));
            let transport = match n.address {
                None => Transport::Ethernet,
                Some(IpAddr::V4(dst)) => match vtep(true).map(|v| v.address) {
                    Some(IpAddr::V4(src)) => Transport::Gpe4(Gpe4Header::new(
                        n.mac.map_or([0; 6], mac),
                        src_mac,
                        src.octets(),
                        dst.octets(),
                        n.vni,
                    )),
                    _ => return Err(format!("neighbor '{}' has no IPv4 VTEP", n.name)),
                },
                Some(IpAddr::V6(dst)) => match vtep(false).map(|v| v.address) {
                    Some(IpAddr::V6(src)) => Transport::Gpe6 {
                        src: src.octets(),
                        dst: dst.octets(),
                        vni: n.vni,
                    },
                    _ => return Err(format!("neighbor '{}' has no IPv6 VTEP", n.name)),
                },
            };
            neighbors.push(Neighbor {
                port: pi,
                mac: n.mac.map_or([0; 6], mac),
                unresolved: n.mac.is_none(),
                src_mac,
                transport,
            });
        }
        let neighbor = |n: &str| {
            p.neighbors
                .iter()
                .position(|x| x.name == n)
                .ok_or_else(|| format!("no neighbor called '{n}'"))
        };
        let sf_index = |n: &str| {
            p.sfs
                .iter()
                .position(|x| x.name == n)
                .ok_or_else(|| format!("no SF called '{n}'"))
        };
        let mut sfs = Vec::new();
        let mut proxies = HashMap::new();
        for (i, sf) in p.sfs.iter().enumerate() {
            let imp = match sf.kind {
                SfKind::Counter => SfImpl::Counter,
                SfKind::Firewall => {
                    let rules: Vec<ClassifierRule> = sf
                        .rules
                        .iter()
                        .map(|r| {
                            let action = if r.action.as_deref() == Some("deny") {
                                ClassifierAction::Drop
                            } else {
                                ClassifierAction::Pass
                            };
                            build_rule(p, r, action)
                        })
                        .collect();
                    SfImpl::Firewall {
                        rules: Classifier::new(rules)
                            .map_err(|e| format!("sfs[{i}].rules: {e}"))?,
                        default_allow: sf.default.as_deref() != Some("deny"),
                    }
                }
                SfKind::Remote => SfImpl::Remote(neighbor(
                    sf.neighbor.as_deref().ok_or("remote SF without neighbor")?,
                )?),
                SfKind::Proxy => {
                    let pi = port(sf.port.as_deref().ok_or("proxy SF without port")?)?;
                    proxies.insert((pi, sf.vlan), i);
                    SfImpl::Proxy {
                        port: pi,
                        vlan: sf.vlan,
                        mac: sf.mac.map(mac),
                        unresolved: sf.mac.is_none() && sf.address.is_some(),
                    }
                }
                SfKind::Group => SfImpl::Group(
                    sf.members
                        .iter()
                        .map(|m| sf_index(m))
                        .collect::<Result<_, _>>()?,
                ),
            };
            sfs.push(Sf {
                name: sf.name.clone(),
                imp,
                down: sf.down,
                counter: counter_for(&sf.name),
            });
        }
        let exits: Vec<Exit> = p
            .exits
            .iter()
            .map(|e| {
                let pi = port(&e.port)?;
                Ok(Exit {
                    port: pi,
                    dst_mac: e.dst_mac.map(mac),
                    src_mac: e.src_mac.map(mac).unwrap_or_else(|| port_mac(pi)),
                    unresolved: e.dst_mac.is_none() && e.gateway.is_some(),
                })
            })
            .collect::<Result<_, String>>()?;
        let exit = |n: &str| {
            p.exits
                .iter()
                .position(|x| x.name == n)
                .ok_or_else(|| format!("no exit called '{n}'"))
        };

        let mut paths = Vec::new();
        let mut sff = SffMap::default();
        let mut hop_arena: Vec<Option<Hop>> = Vec::new();
        for path in &p.paths {
            let metadata = if path.tlvs.is_empty() {
                let mut ctx = [0u8; 16];
                if let Some(c) = &path.context {
                    let v = parse_hex(c)?;
                    if v.len() != 16 {
                        return Err(format!("path '{}': context is not 16 bytes", path.name));
                    }
                    ctx.copy_from_slice(&v);
                }
                NshMetadata::Md1(ctx)
            } else {
                NshMetadata::Md2(
                    path.tlvs
                        .iter()
                        .map(|t| {
                            Ok(Md2TlvRepr {
                                class: t.class,
                                tlv_type: t.tlv_type,
                                value: parse_hex(&t.value)?,
                            })
                        })
                        .collect::<Result<_, String>>()?,
                )
            };
            let repr = NshRepr {
                o_bit: false,
                ttl: p.sfc.ttl,
                next_protocol: NshNextProtocol::Ethernet,
                spi: path.spi,
                si: path.start_si(),
                metadata,
            };
            repr.check()
                .map_err(|e| format!("path '{}': NSH header: {e}", path.name))?;
            let mut hdr = vec![0u8; repr.header_len()];
            repr.emit(&mut nsh::Packet::new_unchecked(&mut hdr[..]));
            paths.push(PathRt { nsh: hdr });
            let lo = path.hops.iter().map(|h| h.si).min().unwrap_or(0);
            let hi = path.hops.iter().map(|h| h.si).max().unwrap_or(0);
            let place = PathHops {
                offset: hop_arena.len() as u32,
                lo,
                len: u16::from(hi - lo) + u16::from(!path.hops.is_empty()),
            };
            hop_arena.resize(hop_arena.len() + usize::from(place.len), None);
            for h in &path.hops {
                let hop = match (&h.sf, &h.sff, &h.end) {
                    (Some(s), None, None) => Hop::Sf(sf_index(s)?),
                    (None, Some(n), None) => Hop::Sff(neighbor(n)?),
                    (None, None, Some(e)) => Hop::End(exit(e)?),
                    _ => {
                        return Err(format!(
                            "path '{}': a hop needs one of sf, sff, end",
                            path.name
                        ))
                    }
                };
                // Validated: at most one hop per SI.
                hop_arena[place.offset as usize + usize::from(h.si - lo)] = Some(hop);
            }
            sff.insert(path.spi, place);
        }

        // Classifier rules, plus the reverse rule of each rule whose path names a reverse path:
        // addresses and ports swapped, arriving on the port the forward path leaves by.
        let mut rules = Vec::new();
        let mut rule_actions = Vec::new();
        let path_index = |n: &str| {
            p.paths
                .iter()
                .position(|x| x.name == n)
                .ok_or_else(|| format!("no path called '{n}'"))
        };
        let path_action = |pi: usize| {
            let pc = &p.paths[pi];
            ClassifierAction::Path {
                spi: pc.spi,
                si: pc.start_si(),
            }
        };
        for r in &p.classifier {
            let (action, ra) = if let Some(path) = &r.path {
                let pi = path_index(path)?;
                (path_action(pi), RuleAction::Path(pi))
            } else if let Some(e) = &r.exit {
                (ClassifierAction::Pass, RuleAction::Exit(exit(e)?))
            } else {
                (ClassifierAction::Drop, RuleAction::Drop)
            };
            rules.push(build_rule(p, r, action));
            rule_actions.push(ra);
        }
        let forward_rules = rules.len();
        for i in 0..forward_rules {
            let RuleAction::Path(pi) = rule_actions[i] else {
                continue;
            };
            let Some(rev) = &p.paths[pi].reverse else {
                continue;
            };
            let ri = path_index(rev)?;
            let fwd = rules[i].clone();
            let exit_port = p.paths[pi]
                .hops
                .iter()
                .filter_map(|h| h.end.as_deref())
                .find_map(|e| exit(e).ok())
                .map(|x| exits[x].port as u16);
            rules.push(ClassifierRule {
                in_port: exit_port,
                src: fwd.dst,
                dst: fwd.src,
                src_ports: fwd.dst_ports,
                dst_ports: fwd.src_ports,
                action: path_action(ri),
                ..fwd.clone()
            });
            rule_actions.push(RuleAction::Path(ri));
        }
        let classifier = Classifier::new(rules).map_err(|e| e.to_string())?;
        let unmatched = match p.sfc.unmatched.as_str() {
            "drop" => None,
            e => Some(exit(e)?),
        };
        let vtep4 = vteps
            .iter()
            .filter_map(|(_, a)| match a {
                IpAddr::V4(v4) => Some(u32::from_ne_bytes(v4.octets())),
                IpAddr::V6(_) => None,
            })
            .collect();
        let fast_ports = (0..p.ports.len().min(64))
            .filter(|i| !proxies.contains_key(&(*i, None)))
            .fold(0u64, |m, i| m | 1 << i);
        Ok(SfcTables {
            host4: p
                .host_addresses()
                .into_iter()
                .map(|(i, a)| (i, a.octets()))
                .collect(),
            path_names: p.paths.iter().map(|x| x.name.clone()).collect(),
            exit_names: p.exits.iter().map(|x| x.name.clone()).collect(),
            neighbor_names: p.neighbors.iter().map(|x| x.name.clone()).collect(),
            vteps,
            vtep4,
            fast_ports,
            neighbors,
            sfs,
            exits,
            paths,
            sff,
            hop_arena,
            classifier,
            rule_actions,
            unmatched,
            proxies,
            flow_cache: p.sfc.flow_cache,
            proxy_flows: p.sfc.proxy_flows,
        })
    }

    /// A worker's fresh mutable state for these tables.
    pub fn new_state(&self) -> SfcState {
        SfcState {
            sf_packets: vec![0; self.sfs.len()],
            cache: FlowCache::new(self.flow_cache),
            sf_caches: self
                .sfs
                .iter()
                .map(|sf| match sf.imp {
                    SfImpl::Firewall { .. } => FlowCache::new(self.flow_cache),
                    _ => FlowCache::new(2),
                })
                .collect(),
            proxy: ProxyTable::new(self.proxy_flows),
            transit: NO_MEMO,
        }
    }

    /// A worker's state carried over to these (new) tables from `old_tables`: the flow caches
    /// (they notice the classifier changed by themselves), the proxy's per-flow headers and the
    /// SF packet counts, matched by SF name. Allocates only for SFs the old tables lacked.
    pub fn carry_state(&self, old: SfcState, old_tables: &SfcTables, worker: usize) -> SfcState {
        let SfcState {
            cache,
            mut sf_caches,
            proxy,
            ..
        } = old;
        let mut caches = Vec::with_capacity(self.sfs.len());
        for sf in &self.sfs {
            let reuse = old_tables
                .sfs
                .iter()
                .position(|o| o.name == sf.name)
                .filter(|&i| i < sf_caches.len())
                .map(|i| std::mem::replace(&mut sf_caches[i], FlowCache::new(2)));
            caches.push(reuse.unwrap_or_else(|| match sf.imp {
                SfImpl::Firewall { .. } => FlowCache::new(self.flow_cache),
                _ => FlowCache::new(2),
            }));
        }
        SfcState {
            sf_packets: self.sfs.iter().map(|sf| sf.counter.load(worker)).collect(),
            cache,
            sf_caches: caches,
            proxy,
            transit: NO_MEMO,
        }
    }

    /// Publishes a worker's SF packet counts (only that worker writes its slots).
    pub fn publish_sf_counts(&self, st: &SfcState, worker: usize) {
        for (sf, n) in self.sfs.iter().zip(&st.sf_packets) {
            if let Some(c) = sf.counter.per_worker.get(worker) {
                c.store(*n, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Packets each SF handled, all workers together, as last published.
    pub fn sf_totals(&self) -> Vec<(String, u64)> {
        self.sfs
            .iter()
            .map(|sf| (sf.name.clone(), sf.counter.total()))
            .collect()
    }

    /// The hop of a path for an SI.
    #[inline(always)]
    fn hop(&self, p: PathHops, si: u8) -> Option<Hop> {
        let i = usize::from(si.wrapping_sub(p.lo));
        if i >= usize::from(p.len) {
            return None;
        }
        self.hop_arena.get(p.offset as usize + i).copied().flatten()
    }

    /// A hop in words, for traces.
    fn describe_hop(&self, hop: Hop) -> String {
        match hop {
            Hop::Sf(i) => format!("SF {}", self.sfs[i].name),
            Hop::Sff(n) => format!("neighbour {}", self.neighbor_names[n]),
            Hop::End(x) => format!("end of chain, exit {}", self.exit_names[x]),
        }
    }

    /// Runs one packet that arrived on `in_port` through ethernet input and everything after it.
    #[inline]
    pub fn process<P: PacketBuf>(&self, st: &mut SfcState, pkt: &mut P, in_port: usize) -> Verdict {
        self.process_with(st, pkt, in_port, &mut NoTrace)
    }

    /// [`process`](Self::process), recording each node the packet passes through in `tr`.
    #[inline]
    pub fn process_with<P: PacketBuf, T: Tracer>(
        &self,
        st: &mut SfcState,
        pkt: &mut P,
        in_port: usize,
        tr: &mut T,
    ) -> Verdict {
        if T::ON {
            let d = pkt.data();
            tr.step(
                "ethernet-input",
                format_args!(
                    "port {in_port}, {} bytes, ethertype {}",
                    d.len(),
                    d.get(12..14)
                        .map(|e| format!("0x{:02x}{:02x}", e[0], e[1]))
                        .unwrap_or_else(|| "none (runt)".into())
                ),
            );
        }
        match self.transit(st, pkt.data_mut(), in_port) {
            Some(port) => {
                if T::ON {
                    tr.step(
                        "sff-transit-fast",
                        format_args!("outer headers rewritten in place toward the next SFF"),
                    );
                }
                Verdict::Tx(port)
            }
            None => self.process_general(st, pkt, in_port, tr),
        }
    }

    /// The SFF transit fast path: an untagged IPv4 (no options) VXLAN-GPE + NSH packet to one of
    /// our VTEPs whose next hop is a remote SFF or SF reached over VXLAN-GPE/IPv4 is forwarded by
    /// rewriting its outer headers in place (no pop and push). It checks what the general path
    /// checks and writes the same bytes; anything else (or anything the general path would drop,
    /// count or hand to the slow path) returns `None` with the packet untouched. `Some(port)`:
    /// the packet is ready to leave on that port.
    #[inline(always)]
    pub fn transit(&self, st: &mut SfcState, d: &mut [u8], in_port: usize) -> Option<usize> {
        if self.fast_ports & 1u64.checked_shl(in_port as u32)? == 0 {
            return None;
        }
        // The common case: a packet like the one before, on the same path. Its signature stands
        // for every check but three.
        let same = d.len() >= GPE4_LEN + nsh::MD1_HEADER_LEN
            && signature(d).is_some_and(|sig| {
                sig.iter()
                    .zip(&st.transit.sig)
                    .fold(0, |acc, (a, b)| acc | (a ^ b))
                    == 0
            });
        if !same {
            return self.transit_miss(st, d);
        }
        let (outer, rest) = d.split_first_chunk::<GPE4_LEN>()?;
        if !Self::transit_lengths_ok(outer, GPE4_LEN + rest.len())
            || !checksum::ipv4_header_ok(&outer[ETH_LEN..ETH_LEN + 20])
            || Self::nsh_ttl(rest) <= 1
        {
            return None;
        }
        Some(Self::transit_forward(&st.transit, d))
    }

    /// The NSH TTL of the header at the start of `nsh` (0 when too short).
    #[inline(always)]
    fn nsh_ttl(nsh: &[u8]) -> u8 {
        match nsh.first_chunk::<2>() {
            Some(&w) => ((u16::from_be_bytes(w) & NSH_TTL_BITS) >> 6) as u8,
            None => 0,
        }
    }

    /// IPv4 total length and UDP length of a transit packet of `len` (at least 42) bytes: within
    /// the frame, each large enough for its header, UDP within IPv4. As two unsigned comparisons:
    /// 28 <= total <= len - 14, and 8 <= udp <= total - 20.
    #[inline(always)]
    fn transit_lengths_ok(outer: &[u8; GPE4_LEN], len: usize) -> bool {
        let total_len = usize::from(u16::from_be_bytes([outer[16], outer[17]]));
        let udp_len = usize::from(u16::from_be_bytes([outer[38], outer[39]]));
        total_len.wrapping_sub(20 + 8) <= len - (ETH_LEN + 20 + 8)
            && udp_len.wrapping_sub(8) <= total_len - (20 + 8)
    }

    /// [`transit`](Self::transit) for a packet unlike the one before: every check, and the
    /// lookup when its (SPI, SI) is not the memo's. Cold and out of line, so that the common case
    /// keeps its registers.
    #[cold]
    #[inline(never)]
    fn transit_miss(&self, st: &mut SfcState, d: &mut [u8]) -> Option<usize> {
        let len = d.len();
        let (outer, rest) = d.split_first_chunk::<GPE4_LEN>()?;
        // Ethernet, IPv4 without options, UDP, not a fragment, to one of our VTEPs. Checked as
        // masked little-endian words: bytes 12..15 are the EtherType and version/IHL; of bytes
        // 20..24, the MF bit and fragment offset (byte 20 & 0x3f, byte 21) and the protocol.
        let word = |at: usize| {
            u32::from_le_bytes([outer[at], outer[at + 1], outer[at + 2], outer[at + 3]])
        };
        let eth_ip = u32::from_le_bytes([ETHERTYPE_IPV4[0], ETHERTYPE_IPV4[1], 0x45, 0]);
        let frag_udp = u32::from_le_bytes([0, 0, 0, 17]);
        if word(12) & 0x00ff_ffff != eth_ip || word(20) & 0xff00_ff3f != frag_udp {
            return None;
        }
        let dst = u32::from_ne_bytes([outer[30], outer[31], outer[32], outer[33]]);
        if !self.vtep4.contains(&dst)
            || !Self::transit_lengths_ok(outer, len)
            || outer[36..38] != udp::VXLAN_GPE_PORT.to_be_bytes()
            || !checksum::ipv4_header_ok(&outer[ETH_LEN..ETH_LEN + 20])
        {
            return None;
        }
        // VXLAN-GPE version 0, P bit, next protocol NSH: of bytes 42..46, the version bits and P
        // bit of the flags and the next protocol.
        let gpe_mask =
            u32::from_le_bytes([vxlan_gpe::VERSION_MASK | vxlan_gpe::FLAG_P, 0, 0, 0xff]);
        let gpe_nsh = u32::from_le_bytes([
            vxlan_gpe::FLAG_P,
            0,
            0,
            u8::from(vxlan_gpe::NextProtocol::Nsh),
        ]);
        if word(ETH_LEN + 28) & gpe_mask != gpe_nsh {
            return None;
        }
        // NSH version 0, no O bit, TTL > 1, SI > 0; MD type 1 with its fixed length, or MD type 2
        // with well-formed TLVs.
        let &[b0, b1, md, _, s0, s1, s2, si] = rest.first_chunk::<8>()?;
        if b0 & 0xe0 != 0 || Self::nsh_ttl(rest) <= 1 || si == 0 {
            return None;
        }
        let sig = match md & 0x0f {
            1 if b1 & 0x3f == 6 && rest.len() >= nsh::MD1_HEADER_LEN => signature(d)?,
            2 if nsh::Packet::new_checked(rest).is_ok() => NO_SIG,
            _ => return None,
        };
        // SPI and SI as they stand in the packet.
        let key = u64::from(u32::from_ne_bytes([s0, s1, s2, si]));
        if st.transit.key != key {
            st.transit = self.transit_lookup(key, [s0, s1, s2, si])?;
        }
        st.transit.sig = sig;
        Some(Self::transit_forward(&st.transit, d))
    }

    /// Forwards a packet [`transit`](Self::transit) accepted toward its memo's next hop: NSH TTL
    /// decremented (it was above 1), outer headers rewritten. Returns the output port.
    #[inline(always)]
    fn transit_forward(memo: &TransitMemo, d: &mut [u8]) -> usize {
        if let Some(w) = d.get_mut(GPE4_LEN..GPE4_LEN + 2) {
            // TTL - 1 in place: the TTL was above 1, so nothing borrows from the bits around it.
            let v = u16::from_be_bytes([w[0], w[1]]);
            debug_assert!(v & NSH_TTL_BITS > NSH_TTL_ONE);
            w.copy_from_slice(&(v - NSH_TTL_ONE).to_be_bytes());
        }
        // The previous hop's entropy (outer UDP source port) is kept.
        let sport = d
            .get(34..36)
            .map_or(0, |p| u16::from_be_bytes([p[0], p[1]]));
        memo.hdr.write(d, sport);
        memo.port
    }

    /// The transit fast path's lookup of an (SPI, SI) its memo does not hold: a next hop that is
    /// a remote SFF or SF over VXLAN-GPE/IPv4, or `None` for the general path.
    #[inline]
    fn transit_lookup(&self, key: u64, [s0, s1, s2, si]: [u8; 4]) -> Option<TransitMemo> {
        let path = *self.sff.get(&u32::from_be_bytes([0, s0, s1, s2]))?;
        let Some(Hop::Sff(n)) = self.hop(path, si) else {
            return None;
        };
        let nb = &self.neighbors[n];
        let Transport::Gpe4(hdr) = nb.transport else {
            return None;
        };
        if nb.unresolved {
            return None;
        }
        Some(TransitMemo {
            key,
            port: nb.port,
            hdr,
            sig: NO_SIG,
        })
    }

    /// Ethernet input and everything after it, for any packet. Kept out of line, so that the
    /// transit fast path before it has the registers to itself.
    #[inline(never)]
    fn process_general<P: PacketBuf, T: Tracer>(
        &self,
        st: &mut SfcState,
        pkt: &mut P,
        in_port: usize,
        tr: &mut T,
    ) -> Verdict {
        let l2 = match l2_parse(pkt.data()) {
            Ok(l2) => l2,
            Err(WireError::TooManyVlans) => return Verdict::Drop(DropReason::VlanStack),
            Err(_) => return Verdict::Drop(DropReason::EthTruncated),
        };
        if !self.host4.is_empty() {
            if let Some(r) = self.for_us(pkt.data(), &l2, in_port) {
                return Verdict::SlowPath(r);
            }
        }
        if !self.proxies.is_empty() {
            if let Some(&sf) = self.proxies.get(&(in_port, l2.vlans[0])) {
                return self.proxy_in(st, pkt, sf, &l2, tr);
            }
        }
        match l2.ethertype {
            EtherType::Nsh => {
                if !pkt.adj(l2.l3_offset) {
                    return Verdict::Drop(DropReason::NshTruncated);
                }
                self.sff_ingress(st, pkt, None, tr)
            }
            EtherType::Ipv4 => match self.ipv4_to_vtep(pkt.data(), l2.l3_offset) {
                Ok(Some((gpe_at, sport))) => self.gpe_input(st, pkt, gpe_at, sport, tr),
                Ok(None) => self.classify(st, pkt, in_port, &l2, tr),
                Err(r) => Verdict::Drop(r),
            },
            EtherType::Ipv6 => match self.ipv6_to_vtep(pkt.data(), l2.l3_offset) {
                Ok(Some((gpe_at, sport))) => self.gpe_input(st, pkt, gpe_at, sport, tr),
                Ok(None) => self.classify(st, pkt, in_port, &l2, tr),
                Err(r) => Verdict::Drop(r),
            },
            _ => self.classify(st, pkt, in_port, &l2, tr),
        }
    }

    /// ARP for one of our addresses on this port, or ICMP to one of our addresses: for the host
    /// stack on the slow path.
    fn for_us(&self, d: &[u8], l2: &L2Info, in_port: usize) -> Option<SlowReason> {
        let l3 = d.get(l2.l3_offset..)?;
        match l2.ethertype {
            EtherType::Arp => {
                let tpa = l3.get(24..28)?;
                self.host4
                    .iter()
                    .any(|(p, a)| *p == in_port && a[..] == *tpa)
                    .then_some(SlowReason::HostArp)
            }
            EtherType::Ipv4 => {
                let h = l3.get(..20)?;
                (h[9] == 1 && self.host4.iter().any(|(_, a)| a[..] == h[16..20]))
                    .then_some(SlowReason::HostIcmp)
            }
            _ => None,
        }
    }

    #[inline]
    fn is_vtep(&self, a: IpAddr) -> bool {
        self.vteps.iter().any(|(_, v)| *v == a)
    }

    /// For IPv4 addressed to one of our VTEPs: the offset of the VXLAN-GPE header.
    #[inline]
    fn ipv4_to_vtep(&self, data: &[u8], at: usize) -> Result<Option<(usize, u16)>, DropReason> {
        if self.vteps.is_empty() {
            return Ok(None);
        }
        let ip = ipv4::Packet::new_checked(&data[at..]).map_err(|_| DropReason::Ipv4Malformed)?;
        let dst = IpAddr::from(ip.dst_addr().0);
        if !self.is_vtep(dst) {
            return Ok(None);
        }
        if !ip.verify_checksum() {
            return Err(DropReason::Ipv4BadChecksum);
        }
        if ip.protocol() != IpProtocol::Udp || ip.is_fragment() {
            return Err(DropReason::NotForUs);
        }
        let u = udp::Packet::new_checked(ip.payload()).map_err(|_| DropReason::UdpMalformed)?;
        if u.dst_port() != udp::VXLAN_GPE_PORT {
            return Err(DropReason::NotForUs);
        }
        Ok(Some((at + ip.header_len() + 8, u.src_port())))
    }

    #[inline]
    fn ipv6_to_vtep(&self, data: &[u8], at: usize) -> Result<Option<(usize, u16)>, DropReason> {
        if self.vteps.is_empty() {
            return Ok(None);
        }
        let ip = ipv6::Packet::new_checked(&data[at..]).map_err(|_| DropReason::Ipv6Malformed)?;
        let dst = IpAddr::from(ip.dst_addr().0);
        if !self.is_vtep(dst) {
            return Ok(None);
        }
        if ip.next_header() != IpProtocol::Udp {
            return Err(DropReason::NotForUs);
        }
        let u = udp::Packet::new_checked(ip.payload()).map_err(|_| DropReason::UdpMalformed)?;
        if u.dst_port() != udp::VXLAN_GPE_PORT {
            return Err(DropReason::NotForUs);
        }
        Ok(Some((at + ip.header_len() + 8, u.src_port())))
    }

    /// VXLAN-GPE to one of our VTEPs; `sport` is the outer UDP source port, the flow entropy
    /// the previous hop chose, kept when re-encapsulating.
    #[inline]
    fn gpe_input<P: PacketBuf, T: Tracer>(
        &self,
        st: &mut SfcState,
        pkt: &mut P,
        at: usize,
        sport: u16,
        tr: &mut T,
    ) -> Verdict {
        let gpe = match vxlan_gpe::Packet::new_checked(&pkt.data()[at..]) {
            Ok(g) => g,
            Err(WireError::BadVersion) => return Verdict::Drop(DropReason::GpeBadVersion),
            Err(_) => return Verdict::Drop(DropReason::GpeTruncated),
        };
        if !gpe.p_flag() {
            return Verdict::Drop(DropReason::GpeNoPBit);
        }
        if gpe.next_protocol() != vxlan_gpe::NextProtocol::Nsh {
            return Verdict::Drop(DropReason::GpeNotNsh);
        }
        if !pkt.adj(at + vxlan_gpe::HEADER_LEN) {
            return Verdict::Drop(DropReason::GpeTruncated);
        }
        self.sff_ingress(st, pkt, Some(sport), tr)
    }

    /// NSH arriving from the network (the packet starts at the NSH header); `entropy` is the
    /// outer UDP source port it came with, if any.
    #[inline]
    fn sff_ingress<P: PacketBuf, T: Tracer>(
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
                "nsh-input",
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
    fn inner_flow(data: &[u8]) -> Option<FlowKey> {
        let h = nsh::Packet::new_unchecked(data);
        let inner = data.get(h.header_len()..)?;
        match h.next_protocol() {
            NshNextProtocol::Ethernet => {
                let l2 = l2_parse(inner).ok()?;
                FlowKey::extract(&inner[l2.l3_offset..], l2.ethertype).ok()
            }
            NshNextProtocol::Ipv4 => FlowKey::extract(inner, EtherType::Ipv4).ok(),
            NshNextProtocol::Ipv6 => FlowKey::extract(inner, EtherType::Ipv6).ok(),
            _ => None,
        }
    }

    /// Picks the instance of a group for a flow: the flow's symmetric hash chooses among all
    /// members; when that one is down, the hash chooses again among the members that are up, so
    /// the flows of healthy instances never move.
    #[inline]
    fn pick_instance(&self, sf: usize, flow: Option<&FlowKey>) -> Option<usize> {
        let SfImpl::Group(members) = &self.sfs[sf].imp else {
            return Some(sf);
        };
        let h = flow.map(|f| f.symmetric_hash()).unwrap_or(0) as usize;
        let first = members[h % members.len()];
        if !self.sfs[first].down {
            return Some(first);
        }
        let up = members.iter().filter(|m| !self.sfs[**m].down).count();
        if up == 0 {
            return None;
        }
        members
            .iter()
            .copied()
            .filter(|m| !self.sfs[*m].down)
            .nth((h / members.len()) % up)
    }

    /// Forwards a packet that starts at a valid NSH header by its (SPI, SI). `flow` is the inner
    /// packet's flow key when the caller already knows it.
    #[inline]
    fn sff_forward<P: PacketBuf, T: Tracer>(
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
            let data = pkt.data();
            let h = nsh::Packet::new_unchecked(data);
            let (spi, si) = (h.spi(), h.si());
            if si == 0 {
                return Verdict::Drop(DropReason::NshSiZero);
            }
            let hops = match table {
                Some((s, t)) if s == spi => t,
                _ => match self.sff.get(&spi) {
                    Some(&t) => {
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
                    "sff",
                    format_args!("SPI {spi} SI {si} → {}", self.describe_hop(hop)),
                );
            }
            match hop {
                Hop::End(x) => return self.end_of_chain(pkt, x),
                Hop::Sff(n) => return self.to_neighbor(pkt, n, flow.flatten(), entropy),
                Hop::Sf(sf) => {
                    let flow = *flow.get_or_insert_with(|| Self::inner_flow(data));
                    let Some(inst) = self.pick_instance(sf, flow.as_ref()) else {
                        return Verdict::Drop(DropReason::AllInstancesDown);
                    };
                    st.sf_packets[inst] += 1;
                    if T::ON {
                        tr.step("sf", format_args!("instance {}", self.sfs[inst].name));
                    }
                    match &self.sfs[inst].imp {
                        SfImpl::Counter => {}
                        SfImpl::Firewall {
                            rules,
                            default_allow,
                        } => {
                            let allow = match &flow {
                                Some(f) => {
                                    let key = MatchKey {
                                        in_port: u16::MAX,
                                        vlan: None,
                                        flow: *f,
                                    };
                                    match rules.lookup_cached(&mut st.sf_caches[inst], &key) {
                                        Some((_, ClassifierAction::Drop)) => false,
                                        Some(_) => true,
                                        None => *default_allow,
                                    }
                                }
                                None => *default_allow,
                            };
                            if !allow {
                                return Verdict::Drop(DropReason::FirewallDeny);
                            }
                        }
                        SfImpl::Remote(n) => return self.to_neighbor(pkt, *n, flow, entropy),
                        SfImpl::Proxy { .. } => return self.proxy_out(st, pkt, inst, flow),
                        SfImpl::Group(_) => unreachable!("pick_instance returns a member"),
                    }
                    // The built-in SF did its work: SI − 1, back to the SFF.
                    let mut h = nsh::Packet::new_unchecked(pkt.data_mut());
                    h.set_si(si - 1);
                }
            }
        }
        Verdict::Drop(DropReason::NshSiZero)
    }

    /// Pushes the transport towards a neighbour (the packet starts at NSH). The outer UDP source
    /// port is `entropy` when the packet came with one, else a hash of the inner flow.
    #[inline]
    fn to_neighbor<P: PacketBuf>(
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
        match nb.transport {
            Transport::Ethernet => {
                if !pkt.prepend(ETH_LEN) {
                    return Verdict::Drop(DropReason::NoHeadroom);
                }
                let d = pkt.data_mut();
                d[0..6].copy_from_slice(&nb.mac);
                d[6..12].copy_from_slice(&nb.src_mac);
                d[12..14].copy_from_slice(&ETHERTYPE_NSH);
            }
            Transport::Gpe4(hdr) => {
                let sport = Self::entropy(pkt.data(), flow, entropy);
                if !pkt.prepend(GPE4_LEN) {
                    return Verdict::Drop(DropReason::NoHeadroom);
                }
                hdr.write(pkt.data_mut(), sport);
            }
            Transport::Gpe6 { src, dst, vni } => {
                let sport = Self::entropy(pkt.data(), flow, entropy);
                if !pkt.prepend(GPE6_LEN) {
                    return Verdict::Drop(DropReason::NoHeadroom);
                }
                let d = pkt.data_mut();
                let udp_len = (d.len() - ETH_LEN - 40) as u16;
                d[0..6].copy_from_slice(&nb.mac);
                d[6..12].copy_from_slice(&nb.src_mac);
                d[12..14].copy_from_slice(&ETHERTYPE_IPV6);
                let ip = &mut d[ETH_LEN..ETH_LEN + 40];
                ip[0..4].copy_from_slice(&[0x60, 0, 0, 0]);
                ip[4..6].copy_from_slice(&udp_len.to_be_bytes());
                ip[6] = 17;
                ip[7] = 64;
                ip[8..24].copy_from_slice(&src);
                ip[24..40].copy_from_slice(&dst);
                Self::write_udp_gpe(&mut d[ETH_LEN + 40..], sport, udp_len, vni);
                // IPv6 requires the UDP checksum.
                let mut u = udp::Packet::new_unchecked(&mut d[ETH_LEN + 40..]);
                u.fill_checksum_ipv6(
                    &crate::wire::Ipv6Address::from_bytes(&src),
                    &crate::wire::Ipv6Address::from_bytes(&dst),
                );
            }
        }
        Verdict::Tx(nb.port)
    }

    #[inline]
    fn entropy(data: &[u8], flow: Option<FlowKey>, entropy: Option<u16>) -> u16 {
        entropy
            .or_else(|| {
                flow.or_else(|| Self::inner_flow(data))
                    .map(|f| f.entropy_port())
            })
            .unwrap_or(udp::VXLAN_GPE_PORT)
    }

    #[inline]
    fn write_udp_gpe(d: &mut [u8], sport: u16, udp_len: u16, vni: u32) {
        d[0..2].copy_from_slice(&sport.to_be_bytes());
        d[2..4].copy_from_slice(&udp::VXLAN_GPE_PORT.to_be_bytes());
        d[4..6].copy_from_slice(&udp_len.to_be_bytes());
        d[6..8].copy_from_slice(&[0, 0]); // no checksum over IPv4 (RFC 7348 §5)
        let g = &mut d[8..16];
        g[0] = 0x0c; // I and P
        g[1] = 0;
        g[2] = 0;
        g[3] = 4; // next protocol NSH
        g[4..7].copy_from_slice(&vni.to_be_bytes()[1..4]);
        g[7] = 0;
    }

    /// Pops NSH and sends the inner packet out of an exit.
    #[inline]
    fn end_of_chain<P: PacketBuf>(&self, pkt: &mut P, x: usize) -> Verdict {
        let exit = &self.exits[x];
        if exit.unresolved {
            return Verdict::Drop(DropReason::ArpUnresolved);
        }
        let h = nsh::Packet::new_unchecked(pkt.data());
        let (len, next) = (h.header_len(), h.next_protocol());
        let ethertype = match next {
            NshNextProtocol::Ethernet => {
                if !pkt.adj(len) || pkt.data().len() < ETH_LEN {
                    return Verdict::Drop(DropReason::EthTruncated);
                }
                let d = pkt.data_mut();
                if let Some(m) = exit.dst_mac {
                    d[0..6].copy_from_slice(&m);
                }
                d[6..12].copy_from_slice(&exit.src_mac);
                return Verdict::Tx(exit.port);
            }
            NshNextProtocol::Ipv4 => ETHERTYPE_IPV4,
            NshNextProtocol::Ipv6 => ETHERTYPE_IPV6,
            _ => return Verdict::Drop(DropReason::NshUnknownNextProtocol),
        };
        let ok = if len >= ETH_LEN {
            pkt.adj(len - ETH_LEN)
        } else {
            pkt.prepend(ETH_LEN - len)
        };
        if !ok {
            return Verdict::Drop(DropReason::NoHeadroom);
        }
        let d = pkt.data_mut();
        d[0..6].copy_from_slice(&exit.dst_mac.unwrap_or([0xff; 6]));
        d[6..12].copy_from_slice(&exit.src_mac);
        d[12..14].copy_from_slice(&ethertype);
        Verdict::Tx(exit.port)
    }

    /// Classifies a plain packet: onto a path (NSH pushed, then forwarded), out an exit, or drop.
    #[inline]
    fn classify<P: PacketBuf, T: Tracer>(
        &self,
        st: &mut SfcState,
        pkt: &mut P,
        in_port: usize,
        l2: &L2Info,
        tr: &mut T,
    ) -> Verdict {
        let flow = FlowKey::extract(&pkt.data()[l2.l3_offset..], l2.ethertype).ok();
        let hit = flow.and_then(|flow| {
            let key = MatchKey {
                in_port: in_port as u16,
                vlan: l2.vlans[0],
                flow,
            };
            self.classifier.lookup_cached(&mut st.cache, &key)
        });
        if T::ON {
            tr.step(
                "classifier",
                format_args!(
                    "flow {} → {}",
                    flow.map(|f| f.to_string())
                        .unwrap_or_else(|| "none (not IP)".into()),
                    match hit {
                        Some((rule, _)) => format!(
                            "rule {rule}: {}",
                            match self.rule_actions[rule] {
                                RuleAction::Path(p) => format!("path {}", self.path_names[p]),
                                RuleAction::Exit(x) => format!("exit {}", self.exit_names[x]),
                                RuleAction::Drop => "drop".into(),
                            }
                        ),
                        None => "no rule (sfc.unmatched)".into(),
                    }
                ),
            );
        }
        let action = match hit {
            Some((rule, _)) => self.rule_actions[rule],
            None => match self.unmatched {
                Some(x) => RuleAction::Exit(x),
                None => return Verdict::Drop(DropReason::Unmatched),
            },
        };
        match action {
            RuleAction::Drop => Verdict::Drop(DropReason::ClassifierDrop),
            RuleAction::Exit(x) => {
                let exit = &self.exits[x];
                if exit.unresolved {
                    return Verdict::Drop(DropReason::ArpUnresolved);
                }
                let d = pkt.data_mut();
                if let Some(m) = exit.dst_mac {
                    d[0..6].copy_from_slice(&m);
                }
                d[6..12].copy_from_slice(&exit.src_mac);
                Verdict::Tx(exit.port)
            }
            RuleAction::Path(pi) => {
                let hdr = &self.paths[pi].nsh;
                if !pkt.prepend(hdr.len()) {
                    return Verdict::Drop(DropReason::NoHeadroom);
                }
                pkt.data_mut()[..hdr.len()].copy_from_slice(hdr);
                self.sff_forward(st, pkt, Some(flow), None, tr)
            }
        }
    }

    /// Sends a packet to an NSH-unaware SF: NSH is kept per flow, stripped, and the inner frame
    /// goes out of the SF's port (tagged with its VLAN).
    #[inline]
    fn proxy_out<P: PacketBuf>(
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
        if !pkt.adj(len) || pkt.data().len() < ETH_LEN {
            return Verdict::Drop(DropReason::EthTruncated);
        }
        if let Some(v) = vlan {
            if !pkt.prepend(4) {
                return Verdict::Drop(DropReason::NoHeadroom);
            }
            let d = pkt.data_mut();
            d.copy_within(4..16, 0);
            d[12..14].copy_from_slice(&ETHERTYPE_VLAN);
            d[14..16].copy_from_slice(&v.to_be_bytes());
        }
        if let Some(m) = mac {
            pkt.data_mut()[0..6].copy_from_slice(&m);
        }
        Verdict::Tx(port)
    }

    /// A frame back from a proxied SF: the flow's NSH header is restored with SI − 1.
    #[inline]
    fn proxy_in<P: PacketBuf, T: Tracer>(
        &self,
        st: &mut SfcState,
        pkt: &mut P,
        sf: usize,
        l2: &L2Info,
        tr: &mut T,
    ) -> Verdict {
        if T::ON {
            tr.step(
                "sfc-proxy-in",
                format_args!("back from SF {}", self.sfs[sf].name),
            );
        }
        if l2.vlans[0].is_some() {
            // Remove the outer tag: move the MACs over it.
            let d = pkt.data_mut();
            d.copy_within(0..12, 4);
            pkt.adj(4);
        }
        let at = l2.l3_offset - if l2.vlans[0].is_some() { 4 } else { 0 };
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
struct ProxyTable {
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

    fn new(capacity: usize) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::VecPacket;
    use crate::traffic::udp_frames;

    const PORT_MACS: [[u8; 6]; 3] = [
        [2, 0, 0, 0, 0, 0xa0],
        [2, 0, 0, 0, 0, 0xa1],
        [2, 0, 0, 0, 0, 0xa2],
    ];

    fn tables(body: &str) -> SfcTables {
        let text = format!(
            r#"
[eal]
cores = [0, 1]
[[ports]]
name = "p0"
vdev = "net_null0"
[[ports]]
name = "p1"
vdev = "net_null1"
[[ports]]
name = "p2"
vdev = "net_null2"
[[workers]]
name = "w0"
core = 1
rx = ["p0", "p1", "p2"]
{body}
"#
        );
        let p = Pipeline::from_toml(&text).unwrap_or_else(|e| panic!("{e}"));
        SfcTables::build(&p, &PORT_MACS).unwrap()
    }

    /// A plain UDP frame of flow `i` (as `traffic::udp_frames` makes them), optionally reversed.
    fn frame(i: u32, reversed: bool) -> Vec<u8> {
        let mut f = udp_frames(i + 1, 60).pop().unwrap();
        if reversed {
            let (src, dst) = (f[26..30].to_vec(), f[30..34].to_vec());
            f[26..30].copy_from_slice(&dst);
            f[30..34].copy_from_slice(&src);
            let (sp, dp) = (f[34..36].to_vec(), f[36..38].to_vec());
            f[34..36].copy_from_slice(&dp);
            f[36..38].copy_from_slice(&sp);
        }
        f
    }

    const GROUP: &str = r#"
[[neighbors]]
name = "ids-a"
port = "p1"
mac = "02:00:00:00:0a:0a"
[[neighbors]]
name = "ids-b"
port = "p1"
mac = "02:00:00:00:0b:0b"
[[sfs]]
name = "ids1"
kind = "remote"
neighbor = "ids-a"
[[sfs]]
name = "ids2"
kind = "remote"
neighbor = "ids-b"
DOWN
[[sfs]]
name = "ids"
kind = "group"
members = ["ids1", "ids2"]
[[exits]]
name = "server"
port = "p2"
[[exits]]
name = "client"
port = "p0"
[[paths]]
name = "fwd"
spi = 1
reverse = "back"
hops = [{ si = 255, sf = "ids" }, { si = 254, end = "server" }]
[[paths]]
name = "back"
spi = 2
hops = [{ si = 255, sf = "ids" }, { si = 254, end = "client" }]
[[classifier]]
in_port = "p0"
src = "10.1.0.0/16"
path = "fwd"
"#;

    /// The instance (its MAC) a frame is sent to, checking it travels on path `spi`.
    fn instance_of(
        t: &SfcTables,
        st: &mut SfcState,
        f: &[u8],
        in_port: usize,
        spi: u32,
    ) -> [u8; 6] {
        let mut p = VecPacket::new(f);
        assert_eq!(t.process(st, &mut p, in_port), Verdict::Tx(1));
        assert_eq!(&p.data()[12..14], &ETHERTYPE_NSH);
        assert_eq!(
            nsh::Packet::new_checked(&p.data()[14..]).unwrap().spi(),
            spi
        );
        p.data()[0..6].try_into().unwrap()
    }

    #[test]
    fn groups_keep_both_directions_on_one_instance_and_skip_down_ones() {
        let t = tables(&GROUP.replace("DOWN", ""));
        let mut st = t.new_state();
        let mut first = Vec::new();
        for i in 0..64 {
            let fwd = instance_of(&t, &mut st, &frame(i, false), 0, 1);
            // The reverse direction arrives where the forward one leaves (the server's port) and
            // is classified onto the reverse path.
            let back = instance_of(&t, &mut st, &frame(i, true), 2, 2);
            assert_eq!(fwd, back, "flow {i}: both directions on one instance");
            first.push(fwd);
        }
        let on_a = first.iter().filter(|m| m[4] == 0x0a).count();
        assert!((16..=48).contains(&on_a), "spread: {on_a} of 64 on ids1");

        let t = tables(&GROUP.replace("DOWN", "down = true"));
        let mut st = t.new_state();
        for (i, before) in first.iter().enumerate() {
            let now = instance_of(&t, &mut st, &frame(i as u32, false), 0, 1);
            assert_eq!(now[4], 0x0a, "flow {i} must move to the healthy instance");
            if before[4] == 0x0a {
                assert_eq!(
                    &now, before,
                    "flow {i} was on the healthy instance and must stay"
                );
            }
        }
    }

    #[test]
    fn proxy_strips_nsh_and_restores_it_with_si_minus_one() {
        let t = tables(
            r#"
[[sfs]]
name = "legacy"
kind = "proxy"
port = "p2"
vlan = 100
mac = "02:00:00:00:0c:0c"
[[neighbors]]
name = "next"
port = "p1"
mac = "02:00:00:00:0d:0d"
[[paths]]
name = "p"
spi = 33
context = "ffeeddccbbaa99887766554433221100"
hops = [{ si = 10, sf = "legacy" }, { si = 9, sff = "next" }]
[[classifier]]
in_port = "p0"
path = "p"
"#,
        );
        let mut st = t.new_state();
        let original = frame(3, false);
        let mut p = VecPacket::new(&original);
        assert_eq!(t.process(&mut st, &mut p, 0), Verdict::Tx(2));
        // Out to the SF: the inner frame, tagged with VLAN 100, to the SF's MAC.
        let d = p.data().to_vec();
        assert_eq!(&d[0..6], &[2, 0, 0, 0, 0x0c, 0x0c]);
        assert_eq!(&d[6..12], &original[6..12]);
        assert_eq!(&d[12..16], &[0x81, 0x00, 0x00, 100]);
        assert_eq!(&d[16..], &original[12..]);
        // Back from the SF on the same port and VLAN: NSH restored, SI 9, on to the next SFF.
        let mut back = VecPacket::new(&d);
        assert_eq!(t.process(&mut st, &mut back, 2), Verdict::Tx(1));
        let b = back.data();
        assert_eq!(&b[12..14], &ETHERTYPE_NSH);
        let h = nsh::Packet::new_checked(&b[14..]).unwrap();
        assert_eq!((h.spi(), h.si()), (33, 9));
        assert_eq!(h.md1_context().unwrap()[0], 0xff);
        assert_eq!(
            h.payload(),
            &d[..12].iter().chain(&d[16..]).copied().collect::<Vec<_>>()[..]
        );
        // A frame of an unknown flow from the SF is dropped and counted.
        let mut stranger = VecPacket::new(&{
            let mut f = frame(9, false);
            f.splice(12..12, [0x81, 0x00, 0x00, 100]);
            f
        });
        assert_eq!(
            t.process(&mut st, &mut stranger, 2),
            Verdict::Drop(DropReason::ProxyNoState)
        );
    }

    #[test]
    fn ipv6_underlay_carries_a_udp_checksum() {
        let t = tables(
            r#"
[[vteps]]
name = "v6"
port = "p1"
address = "fd00::2"
mac = "02:00:00:00:00:02"
[[neighbors]]
name = "peer"
port = "p1"
address = "fd00::3"
mac = "02:00:00:00:00:03"
[[paths]]
name = "p"
spi = 5
hops = [{ si = 255, sff = "peer" }]
[[classifier]]
path = "p"
"#,
        );
        let mut st = t.new_state();
        let mut p = VecPacket::new(&frame(1, false));
        assert_eq!(t.process(&mut st, &mut p, 0), Verdict::Tx(1));
        let d = p.data();
        assert_eq!(&d[12..14], &ETHERTYPE_IPV6);
        let ip = ipv6::Packet::new_checked(&d[14..]).unwrap();
        let u = udp::Packet::new_checked(ip.payload()).unwrap();
        assert_eq!(u.dst_port(), 4790);
        assert_ne!(u.checksum(), 0);
        assert!(u.verify_checksum_ipv6(&ip.src_addr(), &ip.dst_addr()));
        // And it comes back in: VXLAN-GPE over IPv6 to our VTEP reaches the SFF.
        let mut back = d.to_vec();
        back[14 + 8..14 + 24].copy_from_slice(&d[14 + 24..14 + 40]);
        back[14 + 24..14 + 40].copy_from_slice(&d[14 + 8..14 + 24]);
        let mut again = VecPacket::new(&back);
        assert_eq!(t.process(&mut st, &mut again, 1), Verdict::Tx(1));
    }

    #[test]
    fn ttl_and_si_rules_of_rfc_8300() {
        let t = tables(
            r#"
[[exits]]
name = "x"
port = "p2"
[[sfs]]
name = "c"
kind = "counter"
[[paths]]
name = "p"
spi = 6
hops = [{ si = 2, sf = "c" }, { si = 1, end = "x" }]
"#,
        );
        let mut st = t.new_state();
        let nsh_frame = |ttl: u8, si: u8, oam: bool| {
            let repr = NshRepr {
                o_bit: oam,
                ttl,
                next_protocol: NshNextProtocol::Ethernet,
                spi: 6,
                si,
                metadata: NshMetadata::Md1([0; 16]),
            };
            let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x89, 0x4f];
            let mut h = vec![0u8; repr.header_len()];
            repr.emit(&mut nsh::Packet::new_unchecked(&mut h[..]));
            f.extend(h);
            f.extend(frame(0, false));
            f
        };
        let run = |st: &mut SfcState, f: Vec<u8>| t.process(st, &mut VecPacket::new(&f), 0);
        assert_eq!(run(&mut st, nsh_frame(2, 2, false)), Verdict::Tx(2));
        assert_eq!(
            run(&mut st, nsh_frame(1, 2, false)),
            Verdict::Drop(DropReason::NshTtlExpired)
        );
        assert_eq!(
            run(&mut st, nsh_frame(0, 2, false)),
            Verdict::Drop(DropReason::NshTtlExpired)
        );
        assert_eq!(
            run(&mut st, nsh_frame(9, 0, false)),
            Verdict::Drop(DropReason::NshSiZero)
        );
        assert_eq!(
            run(&mut st, nsh_frame(9, 2, true)),
            Verdict::SlowPath(SlowReason::NshOam)
        );
        assert_eq!(
            run(&mut st, nsh_frame(9, 3, false)),
            Verdict::Drop(DropReason::NshUnknownPath)
        );
        assert_eq!(st.sf_packets, vec![1]);
        // End of chain: the inner frame, source MAC of the exit's port.
        let mut p = VecPacket::new(&nsh_frame(9, 1, false));
        assert_eq!(t.process(&mut st, &mut p, 0), Verdict::Tx(2));
        let inner = frame(0, false);
        assert_eq!(&p.data()[6..12], &PORT_MACS[2]);
        assert_eq!(&p.data()[12..], &inner[12..]);
    }

    #[test]
    fn unmatched_traffic_follows_sfc_unmatched() {
        let body = r#"
[sfc]
unmatched = "x"
[[exits]]
name = "x"
port = "p2"
[[paths]]
name = "p"
spi = 6
hops = [{ si = 1, end = "x" }]
[[classifier]]
src = "192.168.0.0/16"
path = "p"
"#;
        let t = tables(body);
        let mut st = t.new_state();
        assert_eq!(
            t.process(&mut st, &mut VecPacket::new(&frame(0, false)), 0),
            Verdict::Tx(2)
        );
        let t = tables(&body.replace("unmatched = \"x\"", ""));
        let mut st = t.new_state();
        assert_eq!(
            t.process(&mut st, &mut VecPacket::new(&frame(0, false)), 0),
            Verdict::Drop(DropReason::Unmatched)
        );
    }

    /// The transit fast path forwards exactly what the general path forwards, byte for byte, and
    /// leaves everything else to it: checked over good frames, every single-byte change of their
    /// first 100 bytes (with and without a fixed-up IPv4 checksum), truncations and padding.
    #[test]
    fn transit_fast_path_matches_the_general_path() {
        // A classifier that sends flows over VXLAN-GPE to 10.0.0.2, MD1 and MD2.
        let enc = tables(
            r#"
[[vteps]]
name = "v"
port = "p1"
address = "10.0.0.1"
mac = "02:00:00:00:00:01"
[[neighbors]]
name = "sff2"
port = "p1"
address = "10.0.0.2"
mac = "02:00:00:00:00:02"
[[paths]]
name = "md1"
spi = 100
context = "00112233445566778899aabbccddeeff"
hops = [{ si = 255, sff = "sff2" }]
[[paths]]
name = "md2"
spi = 101
tlvs = [{ class = 0x0101, type = 2, value = "0a0b0c" }]
hops = [{ si = 255, sff = "sff2" }]
[[paths]]
name = "local"
spi = 102
hops = [{ si = 255, sff = "sff2" }]
[[classifier]]
priority = 1
dst_ports = "9"
path = "md2"
[[classifier]]
priority = 2
dst_ports = "10"
path = "local"
[[classifier]]
priority = 3
path = "md1"
"#,
        );
        // The transit SFF: 100 and 101 to the remote SFF 10.0.0.3, 102 through a built-in SF
        // and then out over Ethernet (both for the general path).
        let transit = r#"
[[vteps]]
name = "v"
port = "p0"
address = "10.0.0.2"
mac = "02:00:00:00:00:02"
[[vteps]]
name = "v1"
port = "p1"
address = "10.0.0.2"
mac = "02:00:00:00:00:02"
[[neighbors]]
name = "sff3"
port = "p1"
address = "10.0.0.3"
mac = "02:00:00:00:00:03"
vni = 77
[[neighbors]]
name = "eth"
port = "p2"
mac = "02:00:00:00:00:04"
[[sfs]]
name = "c"
kind = "counter"
[[paths]]
name = "a"
spi = 100
hops = [{ si = 255, sff = "sff3" }]
[[paths]]
name = "b"
spi = 101
hops = [{ si = 255, sff = "sff3" }]
[[paths]]
name = "c"
spi = 102
hops = [{ si = 255, sf = "c" }, { si = 254, sff = "eth" }]
"#;
        let t = tables(transit);
        let mut est = enc.new_state();
        let mut good = Vec::new();
        for i in 0..6u32 {
            let mut f = frame(i, false);
            f[36..38].copy_from_slice(&(8 + (i as u16 % 3)).to_be_bytes());
            let mut p = VecPacket::new(&f);
            assert_eq!(enc.process(&mut est, &mut p, 0), Verdict::Tx(1));
            good.push(p.data().to_vec());
        }
        let (mut fast_st, mut slow_st) = (t.new_state(), t.new_state());
        let mut fast_taken = 0;
        let mut check = |f: &[u8]| {
            let mut a = VecPacket::new(f);
            let mut b = VecPacket::new(f);
            if t.transit(&mut fast_st, &mut f.to_vec(), 0).is_some() {
                fast_taken += 1;
            }
            let va = t.process(&mut fast_st, &mut a, 0);
            let vb = t.process_general(&mut slow_st, &mut b, 0, &mut NoTrace);
            assert_eq!(va, vb, "verdict for {f:02x?}");
            if matches!(va, Verdict::Tx(_)) {
                assert_eq!(a.data(), b.data(), "bytes for {f:02x?}");
            }
        };
        for g in &good {
            check(g);
            for pos in 0..100.min(g.len()) {
                for v in [
                    0u8,
                    1,
                    0x40,
                    0xff,
                    g[pos] ^ 1,
                    g[pos] ^ 0x80,
                    g[pos].wrapping_sub(1),
                ] {
                    let mut f = g.clone();
                    f[pos] = v;
                    check(&f);
                    // The same change with a correct IPv4 header checksum.
                    if (14..34).contains(&pos) {
                        f[24..26].copy_from_slice(&[0, 0]);
                        let c = checksum::internet_checksum(&f[14..34]);
                        f[24..26].copy_from_slice(&c.to_be_bytes());
                        check(&f);
                    }
                }
            }
            for cut in 0..g.len() {
                check(&g[..cut]);
            }
            for pad in 1..9 {
                let mut f = g.clone();
                f.extend(std::iter::repeat_n(0u8, pad));
                check(&f);
            }
        }
        // Good frames and their harmless variants took the fast path.
        assert!(fast_taken > 6 * 20, "fast path taken {fast_taken} times");
        assert_eq!(fast_st.sf_packets, slow_st.sf_packets);
        // Beyond the ports it knows, the fast path steps aside.
        let mut st = t.new_state();
        assert!(t.transit(&mut st, &mut good[0].clone(), 0).is_some());
        assert!(t.transit(&mut st, &mut good[0].clone(), 64).is_none());
        // A memo made by a good packet lets through no packet of the same path that fails a
        // per-packet check: IPv4 header checksum, lengths, NSH TTL; nor, on an MD type 2 path,
        // one whose TLVs overrun.
        let mut st = t.new_state();
        let (md1, md2) = (&good[0], &good[1]);
        assert_eq!(md1[52] & 0x0f, 1);
        assert_eq!(md2[52] & 0x0f, 2);
        let with = |g: &Vec<u8>, f: &dyn Fn(&mut Vec<u8>)| {
            let mut v = g.clone();
            f(&mut v);
            v
        };
        let ip_len = |v: &mut Vec<u8>, delta: i32| {
            let l = u16::from_be_bytes([v[16], v[17]]) as i32 + delta;
            v[16..18].copy_from_slice(&(l as u16).to_be_bytes());
            v[24..26].copy_from_slice(&[0, 0]);
            let c = checksum::internet_checksum(&v[14..34]);
            v[24..26].copy_from_slice(&c.to_be_bytes());
        };
        // RFC 8300 §2.2: TTL is the low 4 bits of byte 0 and the high 2 bits of byte 1.
        let set_ttl = |v: &mut Vec<u8>, ttl: u8| {
            v[50] = (v[50] & 0xf0) | (ttl >> 2);
            v[51] = (ttl << 6) | (v[51] & 0x3f);
        };
        let refused = [
            with(md1, &|v| v[25] ^= 1),
            with(md1, &|v| ip_len(v, 1)),
            with(md1, &|v| ip_len(v, -(v.len() as i32 - 14 - 27))),
            with(md1, &|v| v[38..40].copy_from_slice(&[0, 7])),
            with(md1, &|v| v[38..40].copy_from_slice(&[0xff, 0xff])),
            with(md1, &|v| set_ttl(v, 1)),
            with(md1, &|v| set_ttl(v, 0)),
            with(md1, &|v| v.truncate(73)),
        ];
        for f in &refused {
            assert!(t.transit(&mut st, &mut md1.clone(), 0).is_some());
            assert_eq!(t.transit(&mut st, &mut f.clone(), 0), None, "{f:02x?}");
        }
        // MD type 2: the TLV's length grown past the end of the header.
        let overrun = with(md2, &|v| v[61] = 0x7f);
        assert!(t.transit(&mut st, &mut md2.clone(), 0).is_some());
        assert!(t.transit(&mut st, &mut md2.clone(), 0).is_some());
        assert_eq!(t.transit(&mut st, &mut overrun.clone(), 0), None);
        // New tables (the next SFF moved to another MAC and VNI) rule from the first packet a
        // worker sends with them: the state it carries over remembers no old decision.
        let t2 = tables(
            &transit
                .replace("02:00:00:00:00:03", "02:00:00:00:00:33")
                .replace("vni = 77", "vni = 78"),
        );
        let mut st = t2.carry_state(st, &t, 0);
        let mut f = good[0].clone();
        assert_eq!(t2.transit(&mut st, &mut f, 0), Some(1));
        assert_eq!(f[0..6], [2, 0, 0, 0, 0, 0x33]);
        let gpe = vxlan_gpe::Packet::new_checked(&f[42..]).unwrap();
        assert_eq!(gpe.vni(), 78);
    }
}
