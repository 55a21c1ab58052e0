//! The slow path: packets the fast path must not forward blindly (NSH OAM, RFC 8300 §2.2's O bit)
//! are handed by the workers, through a lock-free bounded queue, to the main thread, which counts
//! them, logs the first few and frees them. A full queue drops the packet, counted as
//! `slow-path-full`; the fast path never waits for the slow one.

use std::sync::Arc;

use crossbeam::queue::ArrayQueue;

use crate::dpdk::OwnedMbuf;
use crate::node::reasons;
use crate::wire::nsh;

reasons! {
    /// Why a packet went to the slow path.
    pub enum SlowReason {
        /// NSH with the O bit set (OAM).
        NshOam => "nsh-oam" in NshInput,
        /// ARP for one of our addresses.
        HostArp => "host-arp" in HostStack,
        /// ICMP to one of our addresses.
        HostIcmp => "host-icmp" in HostStack,
        /// TCP to one of our addresses at a health probe's port (a probe's answer).
        HostTcp => "host-tcp" in HostStack,
    }
}

/// Health probes (`crate::probe`) use ICMP echo identifiers and TCP source ports from here up:
/// TCP to one of our addresses at such a port is a probe's answer, for the slow path.
pub const PROBE_ID_BASE: u16 = 0xa000;

/// A packet on its way to the slow path; it starts at the header the reason concerns.
#[derive(Debug)]
pub struct SlowPacket {
    pub reason: SlowReason,
    pub mbuf: OwnedMbuf,
    /// The pipeline port it arrived on.
    pub port: usize,
    /// The worker that received it (and transmits an answer).
    pub worker: usize,
}

/// The queue from the workers to the main thread.
pub type SlowQueue = ArrayQueue<SlowPacket>;

/// Packets the main thread logs per reason before it only counts.
const LOG_FIRST: u64 = 10;

/// The main thread's end of the slow path.
#[derive(Debug)]
pub struct SlowPath {
    queue: Arc<SlowQueue>,
    /// Packets handled, by reason.
    pub counts: [u64; SlowReason::COUNT],
}

impl SlowPath {
    /// A slow path whose queue holds `capacity` packets.
    pub fn new(capacity: usize) -> Self {
        SlowPath {
            queue: Arc::new(ArrayQueue::new(capacity.max(1))),
            counts: [0; SlowReason::COUNT],
        }
    }

    /// The workers' end.
    pub fn queue(&self) -> Arc<SlowQueue> {
        Arc::clone(&self.queue)
    }

    /// Handles every queued packet.
    /// Counts and logs what the workers queued; packets for the host stack go to `host`, the
    /// rest is freed.
    pub fn drain(&mut self, mut host: impl FnMut(SlowPacket)) {
        while let Some(p) = self.queue.pop() {
            let n = &mut self.counts[p.reason as usize];
            *n += 1;
            match p.reason {
                SlowReason::HostArp | SlowReason::HostIcmp | SlowReason::HostTcp => host(p),
                SlowReason::NshOam => {
                    if *n <= LOG_FIRST {
                        tracing::info!("slow path: {}", describe(&p));
                    }
                }
            }
        }
    }
}

/// A one-line description of a slow-path packet.
pub fn describe(p: &SlowPacket) -> String {
    match p.reason {
        SlowReason::NshOam => match nsh::Packet::new_checked(p.mbuf.data()) {
            Ok(h) => format!(
                "NSH OAM packet: SPI {} SI {} TTL {}, {} bytes",
                h.spi(),
                h.si(),
                h.ttl(),
                p.mbuf.data().len()
            ),
            Err(e) => format!("NSH OAM packet ({e})"),
        },
        SlowReason::HostArp => format!("ARP for us on port {}", p.port),
        SlowReason::HostIcmp => format!("ICMP for us on port {}", p.port),
        SlowReason::HostTcp => format!("TCP for us on port {}", p.port),
    }
}
