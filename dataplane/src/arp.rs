//! Next hops found and watched by ARP, on the main thread.
//!
//! A pipeline may leave out the MAC of a next hop and give its IPv4 address instead: a neighbour
//! without `mac`, an exit with `gateway`, a proxied SF with `address`, an `lb` backend without
//! `mac`. Each such (port, address)
//! is a target of the [`ArpTable`]: every `sfc.arp_interval_ms` the main thread sends it an ARP
//! request from one of our addresses on that port, through a worker's transmit queue. Its answer
//! (any ARP packet it sends us) reaches the slow path, and the table learns its MAC. A target that
//! leaves `sfc.arp_misses` requests in a row unanswered is unreachable until it answers again.
//!
//! The SFC tables are built from [`resolve`]'s view of the pipeline: learned MACs filled in, SFs
//! behind an unreachable target marked down (so their groups send flows to the other instances),
//! and next hops never resolved dropped as `arp-unresolved`. Each change of the table's state is
//! followed by a rebuild through the control plane's one change path, and logged (a first answer,
//! a new MAC, unreachable, reachable again).

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress as SmolMac, EthernetFrame, EthernetProtocol,
    EthernetRepr,
};

use crate::config::{Pipeline, SfKind};
use crate::wire::EthernetAddress;

/// An address qdp resolves and watches.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Pipeline port index.
    pub port: usize,
    pub ip: Ipv4Addr,
    /// Our address the requests come from.
    pub src: Ipv4Addr,
    /// The MAC it last answered from.
    pub mac: Option<[u8; 6]>,
    /// Whether it answered one of the last `arp_misses` requests.
    pub reachable: bool,
    /// Requests sent since its last answer.
    pub unanswered: u32,
    pub last_answer: Option<Instant>,
    next_request: Instant,
}

/// The targets and what is known of them.
#[derive(Debug)]
pub struct ArpTable {
    entries: Vec<Entry>,
    interval: Duration,
    misses: u32,
    /// The pipeline's port names, for the log.
    ports: Vec<String>,
    /// Set by [`learn`](Self::learn) when the tables must be rebuilt; the main thread clears it.
    pub changed: bool,
    /// The active health probes of the targets that have one.
    pub probes: crate::probe::Probes,
}

/// One ARP request to send: on `port`, from our `src`, asking for `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub port: usize,
    pub src: Ipv4Addr,
    pub target: Ipv4Addr,
}

/// The (port, address, our source address) of everything `p` asks qdp to resolve.
/// Our address on `port` to ask `target` from: one whose prefix holds the target, else the
/// first of ours on the port.
pub fn source(p: &Pipeline, port: usize, target: Ipv4Addr) -> Option<Ipv4Addr> {
    let on_link = p.ports.get(port).and_then(|pc| {
        pc.addresses.iter().find_map(|a| match (a.addr, a.len) {
            (IpAddr::V4(a), len) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                (u32::from(a) & mask == u32::from(target) & mask).then_some(a)
            }
            _ => None,
        })
    });
    on_link.or_else(|| {
        p.host_addresses()
            .iter()
            .find(|(pi, _)| *pi == port)
            .map(|(_, a)| *a)
    })
}

fn targets(p: &Pipeline) -> Vec<(usize, Ipv4Addr, Ipv4Addr)> {
    let source = |port: usize, target: Ipv4Addr| source(p, port, target);
    let mut v: Vec<(usize, Ipv4Addr, Ipv4Addr)> = Vec::new();
    let mut add = |port: Option<usize>, target: Ipv4Addr, src: Option<Ipv4Addr>| {
        if let (Some(port), Some(src)) = (port, src) {
            if !v.iter().any(|&(pi, t, _)| pi == port && t == target) {
                v.push((port, target, src));
            }
        }
    };
    for n in &p.neighbors {
        if let (None, Some(IpAddr::V4(a))) = (n.mac, n.address) {
            // From the VTEP the tunnel leaves from.
            let vtep = p.vteps.iter().find_map(|t| match t.address {
                IpAddr::V4(va) if t.port == n.port => Some(va),
                _ => None,
            });
            add(p.port_index(&n.port), a, vtep);
        }
    }
    for e in &p.exits {
        if let (None, Some(g), Some(port)) = (e.dst_mac, e.gateway, p.port_index(&e.port)) {
            add(Some(port), g, source(port, g));
        }
    }
    for sf in &p.sfs {
        let port = sf.port.as_deref().and_then(|x| p.port_index(x));
        if let (SfKind::Proxy, None, Some(a), Some(port)) = (sf.kind, sf.mac, sf.address, port) {
            add(Some(port), a, source(port, a));
        }
        if let (SfKind::Lb, Some(lb), Some(port)) = (sf.kind, &sf.lb, port) {
            for b in lb.backends.iter().filter(|b| b.mac.is_none()) {
                add(Some(port), b.address, source(port, b.address));
            }
        }
    }
    v
}

impl ArpTable {
    /// The table for `p`'s targets, none of them known yet.
    pub fn new(p: &Pipeline, now: Instant) -> Self {
        let mut t = ArpTable {
            entries: Vec::new(),
            interval: Duration::from_millis(100),
            misses: 3,
            ports: Vec::new(),
            changed: false,
            probes: Default::default(),
        };
        t.sync(p, now);
        t
    }

    /// Follows a change of the pipeline: new targets are asked for at once; targets that stay
    /// keep what is known of them; the others are forgotten.
    pub fn sync(&mut self, p: &Pipeline, now: Instant) {
        self.interval = Duration::from_millis(u64::from(p.sfc.arp_interval_ms.max(1)));
        self.misses = p.sfc.arp_misses.max(1);
        self.ports = p.ports.iter().map(|x| x.name.clone()).collect();
        self.probes.sync(p, now, |port, ip| source(p, port, ip));
        let old = std::mem::take(&mut self.entries);
        for (port, ip, src) in targets(p) {
            let kept = old.iter().find(|e| e.port == port && e.ip == ip);
            self.entries.push(match kept {
                Some(e) => Entry { src, ..e.clone() },
                None => Entry {
                    port,
                    ip,
                    src,
                    mac: None,
                    reachable: false,
                    unanswered: 0,
                    last_answer: None,
                    next_request: now,
                },
            });
        }
    }

    /// Appends the requests due at `now` to `out`. A reachable target whose last `arp_misses`
    /// requests went unanswered becomes unreachable; returns whether any did.
    pub fn poll(&mut self, now: Instant, out: &mut Vec<Request>) -> bool {
        let mut changed = false;
        for e in &mut self.entries {
            if now < e.next_request {
                continue;
            }
            if e.reachable && e.unanswered >= self.misses {
                e.reachable = false;
                changed = true;
                tracing::warn!(
                    "ARP: {} on port {} is unreachable ({} requests unanswered)",
                    e.ip,
                    self.ports.get(e.port).map_or("?", String::as_str),
                    e.unanswered
                );
            }
            out.push(Request {
                port: e.port,
                src: e.src,
                target: e.ip,
            });
            e.unanswered = e.unanswered.saturating_add(1);
            e.next_request = now + self.interval;
        }
        changed
    }

    /// An ARP packet from `ip` at `mac` arrived on `port`. Returns whether this changed what the
    /// tables must know: a first answer, a new MAC, or a target reachable again.
    pub fn learn(&mut self, port: usize, ip: Ipv4Addr, mac: [u8; 6], now: Instant) -> bool {
        let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| e.port == port && e.ip == ip)
        else {
            return false;
        };
        let changed = !e.reachable || e.mac != Some(mac);
        self.changed |= changed;
        if changed {
            let port = self.ports.get(port).map_or("?", String::as_str);
            let at = EthernetAddress(mac);
            match e.mac {
                None => tracing::info!("ARP: {ip} on port {port} is at {at}"),
                Some(m) if m != mac => tracing::info!(
                    "ARP: {ip} on port {port} moved from {} to {at}",
                    EthernetAddress(m)
                ),
                Some(_) => tracing::info!("ARP: {ip} on port {port} is reachable again at {at}"),
            }
        }
        e.mac = Some(mac);
        e.reachable = true;
        e.unanswered = 0;
        e.last_answer = Some(now);
        changed
    }

    fn entry(&self, port: usize, ip: Ipv4Addr) -> Option<&Entry> {
        self.entries.iter().find(|e| e.port == port && e.ip == ip)
    }

    /// The MAC a target last answered from, reachable or not (like a stale neighbour entry: a
    /// sole next hop keeps its traffic while it is asked again).
    pub fn lookup(&self, port: usize, ip: Ipv4Addr) -> Option<[u8; 6]> {
        self.entry(port, ip).and_then(|e| e.mac)
    }

    /// Whether a target answered one of its last `arp_misses` requests.
    pub fn reachable(&self, port: usize, ip: Ipv4Addr) -> bool {
        self.entry(port, ip).is_some_and(|e| e.reachable)
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Appends the health probes due at `now` to `out`, each to the MAC ARP found for its
    /// target; returns whether a target went down or up.
    pub fn poll_probes(&mut self, now: Instant, out: &mut Vec<crate::probe::ProbeSend>) -> bool {
        let entries = &self.entries;
        let mac = |port: usize, ip: Ipv4Addr| {
            entries
                .iter()
                .find(|e| e.port == port && e.ip == ip)
                .and_then(|e| e.mac)
        };
        self.probes.poll(now, mac, out)
    }
}

/// `p` as the SFC tables are built from it: the MACs targets answered from filled in, and SFs
/// whose address or neighbour does not answer (now) marked down, so that their groups use the
/// other instances. A sole next hop (an exit's gateway, a neighbour) keeps its last MAC while it
/// is silent: dropping its traffic would help nothing.
pub fn resolve(p: &Pipeline, arp: &ArpTable) -> Pipeline {
    let mut r = p.clone();
    let mut unreachable_neighbors = Vec::new();
    for n in &mut r.neighbors {
        if let (None, Some(IpAddr::V4(a)), Some(port)) = (n.mac, n.address, p.port_index(&n.port)) {
            n.mac = arp.lookup(port, a).map(EthernetAddress);
            if !arp.reachable(port, a) {
                unreachable_neighbors.push(n.name.clone());
            }
        }
    }
    for e in &mut r.exits {
        if let (None, Some(g), Some(port)) = (e.dst_mac, e.gateway, p.port_index(&e.port)) {
            e.dst_mac = arp.lookup(port, g).map(EthernetAddress);
        }
    }
    for sf in &mut r.sfs {
        match sf.kind {
            SfKind::Proxy => {
                if let (None, Some(a), Some(port)) = (
                    sf.mac,
                    sf.address,
                    sf.port.as_deref().and_then(|x| p.port_index(x)),
                ) {
                    sf.mac = arp.lookup(port, a).map(EthernetAddress);
                    sf.down |= !arp.reachable(port, a);
                }
                if let (Some(a), Some(port)) =
                    (sf.address, sf.port.as_deref().and_then(|x| p.port_index(x)))
                {
                    sf.down |= !arp.probes.healthy(&sf.name, port, a);
                }
            }
            SfKind::Lb => {
                let port = sf.port.as_deref().and_then(|x| p.port_index(x));
                if let (Some(lb), Some(port)) = (&mut sf.lb, port) {
                    for b in &mut lb.backends {
                        if b.mac.is_none() {
                            b.mac = arp.lookup(port, b.address).map(EthernetAddress);
                            b.down |= !arp.reachable(port, b.address);
                        }
                        let owner = format!("{}/{}", sf.name, b.name);
                        b.down |= !arp.probes.healthy(&owner, port, b.address);
                    }
                }
            }
            SfKind::Remote => {
                sf.down |= sf
                    .neighbor
                    .as_ref()
                    .is_some_and(|n| unreachable_neighbors.contains(n));
            }
            _ => {}
        }
    }
    r
}

/// The broadcast ARP request asking for `target` on behalf of `src` at `src_mac`, padded to the
/// 60-byte Ethernet minimum.
pub fn request_frame(src_mac: [u8; 6], src: Ipv4Addr, target: Ipv4Addr) -> [u8; 60] {
    let arp = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: SmolMac(src_mac),
        source_protocol_addr: src,
        target_hardware_addr: SmolMac([0; 6]),
        target_protocol_addr: target,
    };
    let eth = EthernetRepr {
        src_addr: SmolMac(src_mac),
        dst_addr: SmolMac::BROADCAST,
        ethertype: EthernetProtocol::Arp,
    };
    let mut buf = [0u8; 60];
    let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
    eth.emit(&mut frame);
    arp.emit(&mut ArpPacket::new_unchecked(frame.payload_mut()));
    buf
}

/// The sender of an ARP packet (request or reply): its address and MAC.
pub fn sender(frame: &[u8]) -> Option<(Ipv4Addr, [u8; 6])> {
    let frame = EthernetFrame::new_checked(frame).ok()?;
    if frame.ethertype() != EthernetProtocol::Arp {
        return None;
    }
    match ArpRepr::parse(&ArpPacket::new_checked(frame.payload()).ok()?).ok()? {
        ArpRepr::EthernetIpv4 {
            source_hardware_addr,
            source_protocol_addr,
            ..
        } => Some((source_protocol_addr, source_hardware_addr.0)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIPELINE: &str = r#"
[eal]
cores = [0, 1]
[[ports]]
name = "a"
vdev = "net_null0"
addresses = ["10.1.0.254/24", "10.9.0.254/24"]
[[ports]]
name = "b"
vdev = "net_null1"
[[workers]]
name = "w0"
core = 1
rx = ["a", "b"]
[sfc]
arp_interval_ms = 50
arp_misses = 2
[[vteps]]
name = "v"
port = "b"
address = "10.0.0.2"
mac = "02:00:00:00:00:02"
[[neighbors]]
name = "sff3"
port = "b"
address = "10.0.0.3"
[[sfs]]
name = "remote"
kind = "remote"
neighbor = "sff3"
[[sfs]]
name = "linux"
kind = "proxy"
port = "a"
address = "10.9.0.1"
[[sfs]]
name = "both"
kind = "group"
members = ["remote", "linux"]
[[exits]]
name = "out"
port = "a"
gateway = "10.1.0.1"
[[paths]]
name = "p"
spi = 1
hops = [{ si = 255, sf = "both" }, { si = 254, end = "out" }]
[[classifier]]
path = "p"
"#;

    fn pipeline() -> Pipeline {
        let p = Pipeline::from_toml(PIPELINE).unwrap();
        p.validate().unwrap();
        p
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn targets_come_from_the_pipeline_with_a_source_on_their_link() {
        let t = ArpTable::new(&pipeline(), Instant::now());
        let got: Vec<(usize, Ipv4Addr, Ipv4Addr)> =
            t.entries().iter().map(|e| (e.port, e.ip, e.src)).collect();
        assert_eq!(
            got,
            [
                (1, ip("10.0.0.3"), ip("10.0.0.2")), // the neighbour, from our VTEP
                (0, ip("10.1.0.1"), ip("10.1.0.254")), // the exit's gateway
                (0, ip("10.9.0.1"), ip("10.9.0.254")), // the proxied SF, from its subnet
            ]
        );
    }

    #[test]
    fn answers_resolve_and_silence_makes_unreachable() {
        let p = pipeline();
        let t0 = Instant::now();
        let mut t = ArpTable::new(&p, t0);
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut out = Vec::new();
        // Everything is asked for at once, then once per interval.
        assert!(!t.poll(t0, &mut out));
        assert_eq!(out.len(), 3);
        out.clear();
        t.poll(ms(10), &mut out);
        assert!(out.is_empty());
        // Before any answer: nothing resolved; the SFs are down, the exit is unresolved.
        let r = resolve(&p, &t);
        assert_eq!(r.neighbors[0].mac, None);
        assert!(r.sfs[0].down && r.sfs[1].down);
        assert_eq!(r.exits[0].dst_mac, None);
        // Answers.
        let m = [2, 0, 0, 0, 9, 1];
        assert!(t.learn(0, ip("10.9.0.1"), m, ms(1)));
        assert!(t.learn(1, ip("10.0.0.3"), [2, 0, 0, 0, 0, 3], ms(1)));
        assert!(!t.learn(1, ip("10.0.0.3"), [2, 0, 0, 0, 0, 3], ms(2)));
        assert!(!t.learn(1, ip("10.7.7.7"), m, ms(2)), "not a target");
        assert!(std::mem::take(&mut t.changed));
        let r = resolve(&p, &t);
        assert_eq!(
            r.neighbors[0].mac,
            Some(EthernetAddress([2, 0, 0, 0, 0, 3]))
        );
        assert_eq!(r.sfs[1].mac, Some(EthernetAddress(m)));
        assert!(!r.sfs[0].down && !r.sfs[1].down);
        assert_eq!(r.exits[0].dst_mac, None, "the gateway has not answered");
        // The proxied SF falls silent: two requests unanswered (arp_misses = 2), and at the
        // third it is unreachable; the neighbour keeps answering.
        for (i, at) in [50, 100, 150].into_iter().enumerate() {
            out.clear();
            let lost = t.poll(ms(at), &mut out);
            assert_eq!(out.len(), 3, "requests at {at} ms");
            assert_eq!(lost, i == 2, "lost at {at} ms");
            t.learn(1, ip("10.0.0.3"), [2, 0, 0, 0, 0, 3], ms(at + 1));
        }
        let r = resolve(&p, &t);
        assert!(r.sfs[1].down, "silent SF is down");
        assert!(!r.sfs[0].down, "the neighbour's SF is not");
        assert!(!t.reachable(0, ip("10.9.0.1")));
        assert_eq!(t.lookup(0, ip("10.9.0.1")), Some(m), "its last MAC is kept");
        assert_eq!(t.entries()[2].unanswered, 3);
        // It answers again, from a new MAC.
        assert!(t.learn(0, ip("10.9.0.1"), [2, 0, 0, 0, 9, 2], ms(160)));
        assert_eq!(
            resolve(&p, &t).sfs[1].mac,
            Some(EthernetAddress([2, 0, 0, 0, 9, 2]))
        );
    }

    #[test]
    fn a_changed_pipeline_keeps_what_is_known_of_the_targets_that_stay() {
        let mut p = pipeline();
        let t0 = Instant::now();
        let mut t = ArpTable::new(&p, t0);
        t.learn(1, ip("10.0.0.3"), [2, 0, 0, 0, 0, 3], t0);
        p.exits[0].gateway = Some(ip("10.1.0.2"));
        t.sync(&p, t0);
        assert_eq!(t.lookup(1, ip("10.0.0.3")), Some([2, 0, 0, 0, 0, 3]));
        assert!(t.entries().iter().any(|e| e.ip == ip("10.1.0.2")));
        assert!(!t.entries().iter().any(|e| e.ip == ip("10.1.0.1")));
        assert_eq!(t.interval, Duration::from_millis(50));
        assert_eq!(t.misses, 2);
    }

    #[test]
    fn requests_parse_as_arp_and_answers_name_their_sender() {
        let f = request_frame([2, 0, 0, 0, 0, 2], ip("10.0.0.2"), ip("10.0.0.3"));
        let eth = etherparse::Ethernet2Header::from_slice(&f).unwrap().0;
        assert_eq!(eth.destination, [0xff; 6]);
        assert_eq!(eth.source, [2, 0, 0, 0, 0, 2]);
        assert_eq!(eth.ether_type, etherparse::EtherType::ARP);
        // RFC 826 over Ethernet/IPv4: htype 1, ptype 0x0800, hlen 6, plen 4, op 1 (request).
        assert_eq!(f[14..22], [0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(f[22..28], [2, 0, 0, 0, 0, 2]);
        assert_eq!(f[28..32], [10, 0, 0, 2]);
        assert_eq!(f[38..42], [10, 0, 0, 3]);
        assert_eq!(sender(&f), Some((ip("10.0.0.2"), [2, 0, 0, 0, 0, 2])));
        assert_eq!(sender(&f[..30]), None);
    }

    #[test]
    fn bad_resolution_settings_name_their_field() {
        let bad = |from: &str, to: &str, field: &str| {
            let text = PIPELINE.replacen(from, to, 1);
            let e = Pipeline::from_toml(&text)
                .and_then(|p| p.validate().map(|_| p))
                .expect_err(to)
                .to_string();
            assert!(e.contains(field), "{to}: {e}");
        };
        bad("address = \"10.0.0.3\"\n", "", "neighbors[0].mac");
        bad(
            "gateway = \"10.1.0.1\"",
            "gateway = \"10.1.0.1\"\ndst_mac = \"02:00:00:00:00:09\"",
            "exits[0].gateway",
        );
        bad(
            "gateway = \"10.1.0.1\"",
            "gateway = \"10.1.0.254\"",
            "exits[0].gateway",
        );
        bad(
            "address = \"10.9.0.1\"",
            "address = \"10.9.0.254\"",
            "sfs[1].address",
        );
        bad("arp_misses = 2", "arp_misses = 0", "sfc.arp_misses");
        bad(
            "arp_interval_ms = 50",
            "arp_interval_ms = 1",
            "sfc.arp_interval_ms",
        );
    }
}
