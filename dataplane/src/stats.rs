//! Per-worker counters and the drop reasons they are indexed by.
//!
//! Each worker keeps plain local counters while it processes a burst and publishes them once per
//! poll round into its own cache-line-aligned block of relaxed atomics, which only it writes
//! (a store, never a read-modify-write); the main thread sums the blocks for the stats line.
//! Besides the totals and the drops by reason, each worker counts per output port the packets
//! that port's transmit queue refused ([`WorkerSnapshot::tx_dropped`]): a full queue, or a port
//! whose peer is gone (a memif or vhost-user peer that disconnected).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::node::reasons;

/// Most ports a pipeline may open (DPDK's default `RTE_MAX_ETHPORTS`); the per-port counters
/// have this many slots.
pub const MAX_PORTS: usize = 32;

reasons! {
    /// Why a packet was dropped. Every drop in qdp is counted under exactly one reason, by
    /// the node named beside it.
    pub enum DropReason {
        /// The transmit queue was full and refused the packet.
        TxFull => "tx-full" in InterfaceOutput,
        /// The packet arrived on a port that forwards nowhere.
        NoRoute => "no-route" in Xconnect,
        /// A frame too short for the work asked of it (e.g. a MAC rewrite of a frame under 14 bytes).
        Runt => "runt" in Xconnect,
        /// Shorter than an Ethernet header.
        EthTruncated => "eth-truncated" in EthernetInput,
        /// More than two stacked VLAN tags.
        VlanStack => "vlan-stack" in EthernetInput,
        /// An IPv4 header that does not parse (truncated, bad version or lengths).
        Ipv4Malformed => "ipv4-malformed" in IpInput,
        /// An IPv4 header checksum that does not verify (on tunnel traffic to our VTEPs).
        Ipv4BadChecksum => "ipv4-bad-checksum" in IpInput,
        /// An IPv6 header that does not parse.
        Ipv6Malformed => "ipv6-malformed" in IpInput,
        /// A UDP header that does not parse or whose length lies.
        UdpMalformed => "udp-malformed" in IpInput,
        /// UDP to one of our VTEPs on a port other than VXLAN-GPE's.
        NotForUs => "not-for-us" in IpInput,
        /// Shorter than a VXLAN-GPE header.
        GpeTruncated => "gpe-truncated" in VxlanGpeInput,
        /// A VXLAN-GPE version we do not implement.
        GpeBadVersion => "gpe-bad-version" in VxlanGpeInput,
        /// VXLAN-GPE without the P bit (no next protocol).
        GpeNoPBit => "gpe-no-p-bit" in VxlanGpeInput,
        /// VXLAN-GPE carrying something other than NSH.
        GpeNotNsh => "gpe-not-nsh" in VxlanGpeInput,
        /// Shorter than the NSH header it starts.
        NshTruncated => "nsh-truncated" in NshInput,
        /// An NSH version other than 0.
        NshBadVersion => "nsh-bad-version" in NshInput,
        /// An NSH length field that lies.
        NshBadLength => "nsh-bad-length" in NshInput,
        /// NSH MD type 0x0 or 0xF.
        NshBadMdType => "nsh-bad-md-type" in NshInput,
        /// An MD type 2 TLV running past the NSH header.
        NshTlvOverrun => "nsh-tlv-overrun" in NshInput,
        /// A packet for the slow path (NSH OAM) found its queue full.
        SlowPathFull => "slow-path-full" in SlowPath,
        /// NSH TTL reached 0.
        NshTtlExpired => "nsh-ttl-expired" in NshInput,
        /// NSH SI 0.
        NshSiZero => "nsh-si-zero" in NshInput,
        /// No hop for the packet's (SPI, SI).
        NshUnknownPath => "nsh-unknown-path" in Sff,
        /// End of chain with an inner next protocol we cannot forward.
        NshUnknownNextProtocol => "nsh-unknown-next-protocol" in EndOfChain,
        /// A classifier rule said drop.
        ClassifierDrop => "classifier-drop" in Classifier,
        /// No classifier rule matched and `sfc.unmatched` is "drop".
        Unmatched => "unmatched" in Classifier,
        /// The built-in firewall SF denied the packet.
        FirewallDeny => "firewall-deny" in SfFirewall,
        /// The `lb` SF has no backend for a new flow (none up with a weight above 0).
        LbNoBackend => "lb-no-backend" in SfLb,
        /// A non-first fragment (or an unreadable IPv4 header) toward or from the `lb` SF's VIP.
        LbFragment => "lb-fragment" in SfLb,
        /// An inline `ids` SF's drop rule matched.
        IdsDrop => "ids-drop" in SfIds,
        /// A TCP, UDP or ICMP header that does not fit the inner packet, at the `ids` SF.
        IdsMalformed => "ids-malformed" in SfIds,
        /// Not enough headroom in the buffer to push the headers.
        NoHeadroom => "no-headroom" in NshEncap,
        /// Every instance of an SF group is down.
        AllInstancesDown => "all-instances-down" in Sff,
        /// A frame came back from a proxied SF for a flow the proxy does not know.
        ProxyNoState => "proxy-no-state" in SfcProxy,
        /// The proxy cannot key a non-IP inner packet, or it is not Ethernet inside.
        ProxyUnsupported => "proxy-unsupported" in SfcProxy,
        /// An NSH header too large for the proxy to keep.
        ProxyMetadataTooLarge => "proxy-metadata-too-large" in SfcProxy,
        /// The output port is set down (`qdpctl set port NAME down`).
        PortDown => "port-down" in InterfaceOutput,
        /// The next hop's MAC is not known (yet): its address has not answered ARP.
        ArpUnresolved => "arp-unresolved" in Arp,
        /// A received chain of mbufs whose first segment is too short to hold every header a
        /// node reads (`packet::FIRST_SEGMENT_MIN` bytes, or the whole packet).
        HeadersSplit => "headers-split" in EthernetInput,
        /// A received chain of more mbufs than `packet::MAX_SEGMENTS` (8).
        TooManySegments => "too-many-segments" in EthernetInput,
        /// A frame longer than its output port's MTU plus 18 bytes (Ethernet header and one VLAN
        /// tag), on a port with an `mtu` set.
        OverMtu => "over-mtu" in InterfaceOutput,
        /// A multi-segment packet toward a VXLAN-GPE over IPv6 neighbour, whose UDP checksum
        /// would have to cover more than the first segment.
        Gpe6MultiSegment => "gpe6-multi-segment" in NshEncap,
    }
}

/// A worker's counters as plain numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerSnapshot {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Packets handed to the slow path.
    pub slow_path: u64,
    pub polls: u64,
    pub empty_polls: u64,
    pub drops: [u64; DropReason::COUNT],
    /// Per output port (pipeline port index): packets its transmit queue refused, freed and
    /// counted under `tx-full`.
    pub tx_dropped: [u64; MAX_PORTS],
}

impl Default for WorkerSnapshot {
    fn default() -> Self {
        WorkerSnapshot {
            rx_packets: 0,
            rx_bytes: 0,
            tx_packets: 0,
            tx_bytes: 0,
            slow_path: 0,
            polls: 0,
            empty_polls: 0,
            drops: [0; DropReason::COUNT],
            tx_dropped: [0; MAX_PORTS],
        }
    }
}

impl WorkerSnapshot {
    pub fn drops_total(&self) -> u64 {
        self.drops.iter().sum()
    }

    pub fn drop(&self, r: DropReason) -> u64 {
        self.drops[r as usize]
    }

    /// Counts the outcome of one transmit burst of `bytes` bytes in all on pipeline port `port`.
    #[inline]
    pub fn count_tx(&mut self, port: usize, bytes: u64, r: crate::dpdk::TxResult) {
        self.tx_packets += r.sent as u64;
        self.tx_bytes += bytes - r.dropped_bytes;
        if r.dropped > 0 {
            self.drops[DropReason::TxFull as usize] += r.dropped as u64;
            if let Some(c) = self.tx_dropped.get_mut(port) {
                *c += r.dropped as u64;
            }
        }
    }

    /// Counter-wise difference `self - earlier`.
    pub fn since(&self, earlier: &WorkerSnapshot) -> WorkerSnapshot {
        let mut d = WorkerSnapshot {
            rx_packets: self.rx_packets.wrapping_sub(earlier.rx_packets),
            rx_bytes: self.rx_bytes.wrapping_sub(earlier.rx_bytes),
            tx_packets: self.tx_packets.wrapping_sub(earlier.tx_packets),
            tx_bytes: self.tx_bytes.wrapping_sub(earlier.tx_bytes),
            slow_path: self.slow_path.wrapping_sub(earlier.slow_path),
            polls: self.polls.wrapping_sub(earlier.polls),
            empty_polls: self.empty_polls.wrapping_sub(earlier.empty_polls),
            drops: [0; DropReason::COUNT],
            tx_dropped: [0; MAX_PORTS],
        };
        for i in 0..DropReason::COUNT {
            d.drops[i] = self.drops[i].wrapping_sub(earlier.drops[i]);
        }
        for i in 0..MAX_PORTS {
            d.tx_dropped[i] = self.tx_dropped[i].wrapping_sub(earlier.tx_dropped[i]);
        }
        d
    }

    /// Counter-wise sum.
    pub fn add(&mut self, o: &WorkerSnapshot) {
        self.rx_packets += o.rx_packets;
        self.rx_bytes += o.rx_bytes;
        self.tx_packets += o.tx_packets;
        self.tx_bytes += o.tx_bytes;
        self.slow_path += o.slow_path;
        self.polls += o.polls;
        self.empty_polls += o.empty_polls;
        for i in 0..DropReason::COUNT {
            self.drops[i] += o.drops[i];
        }
        for i in 0..MAX_PORTS {
            self.tx_dropped[i] += o.tx_dropped[i];
        }
    }
}

/// The published counters of one worker: written by that worker only, read by the main thread.
#[derive(Debug)]
#[repr(align(64))]
pub struct WorkerCounters {
    rx_packets: AtomicU64,
    rx_bytes: AtomicU64,
    tx_packets: AtomicU64,
    tx_bytes: AtomicU64,
    slow_path: AtomicU64,
    polls: AtomicU64,
    empty_polls: AtomicU64,
    drops: [AtomicU64; DropReason::COUNT],
    tx_dropped: [AtomicU64; MAX_PORTS],
}

impl Default for WorkerCounters {
    fn default() -> Self {
        WorkerCounters {
            rx_packets: AtomicU64::new(0),
            rx_bytes: AtomicU64::new(0),
            tx_packets: AtomicU64::new(0),
            tx_bytes: AtomicU64::new(0),
            slow_path: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            empty_polls: AtomicU64::new(0),
            drops: std::array::from_fn(|_| AtomicU64::new(0)),
            tx_dropped: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl WorkerCounters {
    /// Publishes the worker's running totals (called by the owning worker only).
    #[inline]
    pub fn publish(&self, s: &WorkerSnapshot) {
        self.rx_packets.store(s.rx_packets, Relaxed);
        self.rx_bytes.store(s.rx_bytes, Relaxed);
        self.tx_packets.store(s.tx_packets, Relaxed);
        self.tx_bytes.store(s.tx_bytes, Relaxed);
        self.slow_path.store(s.slow_path, Relaxed);
        self.polls.store(s.polls, Relaxed);
        self.empty_polls.store(s.empty_polls, Relaxed);
        for (a, v) in self.drops.iter().zip(s.drops.iter()) {
            a.store(*v, Relaxed);
        }
        for (a, v) in self.tx_dropped.iter().zip(s.tx_dropped.iter()) {
            a.store(*v, Relaxed);
        }
    }

    /// Reads the last published totals.
    pub fn snapshot(&self) -> WorkerSnapshot {
        let mut s = WorkerSnapshot {
            rx_packets: self.rx_packets.load(Relaxed),
            rx_bytes: self.rx_bytes.load(Relaxed),
            tx_packets: self.tx_packets.load(Relaxed),
            tx_bytes: self.tx_bytes.load(Relaxed),
            slow_path: self.slow_path.load(Relaxed),
            polls: self.polls.load(Relaxed),
            empty_polls: self.empty_polls.load(Relaxed),
            drops: [0; DropReason::COUNT],
            tx_dropped: [0; MAX_PORTS],
        };
        for (v, a) in s.drops.iter_mut().zip(self.drops.iter()) {
            *v = a.load(Relaxed);
        }
        for (v, a) in s.tx_dropped.iter_mut().zip(self.tx_dropped.iter()) {
            *v = a.load(Relaxed);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_then_snapshot_and_delta() {
        let c = WorkerCounters::default();
        let mut s = WorkerSnapshot {
            rx_packets: 10,
            tx_packets: 8,
            ..Default::default()
        };
        s.drops[DropReason::TxFull as usize] = 2;
        c.publish(&s);
        let a = c.snapshot();
        assert_eq!(a, s);
        s.rx_packets = 15;
        c.publish(&s);
        let d = c.snapshot().since(&a);
        assert_eq!(d.rx_packets, 5);
        assert_eq!(d.drop(DropReason::TxFull), 0);
        assert_eq!(a.drops_total(), 2);
        assert_eq!(std::mem::align_of::<WorkerCounters>(), 64);
    }

    #[test]
    fn refused_packets_are_counted_per_port_and_as_tx_full() {
        use crate::dpdk::TxResult;
        let mut s = WorkerSnapshot::default();
        let sent = |sent, dropped| TxResult {
            sent,
            dropped,
            dropped_bytes: 100 * dropped as u64,
        };
        s.count_tx(2, 1000, sent(7, 3));
        s.count_tx(0, 500, sent(5, 0));
        s.count_tx(2, 400, sent(0, 4));
        // An index past the slots (never made by a checked pipeline) counts only as tx-full.
        s.count_tx(MAX_PORTS, 100, sent(0, 1));
        assert_eq!(s.tx_packets, 12);
        assert_eq!(s.tx_bytes, 1000 - 300 + 500);
        assert_eq!(s.tx_dropped[2], 7);
        assert_eq!(s.tx_dropped[0], 0);
        assert_eq!(s.drop(DropReason::TxFull), 8);
        let c = WorkerCounters::default();
        c.publish(&s);
        let a = c.snapshot();
        assert_eq!(a.tx_dropped, s.tx_dropped);
        s.count_tx(2, 100, sent(0, 1));
        c.publish(&s);
        assert_eq!(c.snapshot().since(&a).tx_dropped[2], 1);
        let mut sum = a;
        sum.add(&c.snapshot());
        assert_eq!(sum.tx_dropped[2], 15);
    }

    #[test]
    fn reason_names_are_distinct() {
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert!(!r.name().is_empty());
            assert_eq!(*r as usize, i);
        }
    }
}
