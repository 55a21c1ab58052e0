//! Per-worker counters and the drop reasons they are indexed by.
//!
//! Each worker keeps plain local counters while it processes a burst and publishes them once per
//! poll round into its own cache-line-aligned block of relaxed atomics, which only it writes
//! (a store, never a read-modify-write); the main thread sums the blocks for the stats line.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why a packet was dropped. Every drop in qdp is counted under exactly one reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum DropReason {
    /// The transmit queue was full and refused the packet.
    TxFull = 0,
    /// The packet arrived on a port that forwards nowhere.
    NoRoute,
    /// A frame too short for the work asked of it (e.g. a MAC rewrite of a frame under 14 bytes).
    Runt,
}

impl DropReason {
    pub const COUNT: usize = 3;
    pub const ALL: [DropReason; Self::COUNT] =
        [DropReason::TxFull, DropReason::NoRoute, DropReason::Runt];

    /// The reason's name in stats, JSON and Prometheus output.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::TxFull => "tx-full",
            DropReason::NoRoute => "no-route",
            DropReason::Runt => "runt",
        }
    }
}

/// A worker's counters as plain numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerSnapshot {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub polls: u64,
    pub empty_polls: u64,
    pub drops: [u64; DropReason::COUNT],
}

impl WorkerSnapshot {
    pub fn drops_total(&self) -> u64 {
        self.drops.iter().sum()
    }

    pub fn drop(&self, r: DropReason) -> u64 {
        self.drops[r as usize]
    }

    /// Counts the outcome of one transmit burst of `bytes` bytes in all.
    #[inline]
    pub fn count_tx(&mut self, bytes: u64, r: crate::dpdk::TxResult) {
        self.tx_packets += r.sent as u64;
        self.tx_bytes += bytes - r.dropped_bytes;
        self.drops[DropReason::TxFull as usize] += r.dropped as u64;
    }

    /// Counter-wise difference `self - earlier`.
    pub fn since(&self, earlier: &WorkerSnapshot) -> WorkerSnapshot {
        let mut d = WorkerSnapshot {
            rx_packets: self.rx_packets.wrapping_sub(earlier.rx_packets),
            rx_bytes: self.rx_bytes.wrapping_sub(earlier.rx_bytes),
            tx_packets: self.tx_packets.wrapping_sub(earlier.tx_packets),
            tx_bytes: self.tx_bytes.wrapping_sub(earlier.tx_bytes),
            polls: self.polls.wrapping_sub(earlier.polls),
            empty_polls: self.empty_polls.wrapping_sub(earlier.empty_polls),
            drops: [0; DropReason::COUNT],
        };
        for i in 0..DropReason::COUNT {
            d.drops[i] = self.drops[i].wrapping_sub(earlier.drops[i]);
        }
        d
    }

    /// Counter-wise sum.
    pub fn add(&mut self, o: &WorkerSnapshot) {
        self.rx_packets += o.rx_packets;
        self.rx_bytes += o.rx_bytes;
        self.tx_packets += o.tx_packets;
        self.tx_bytes += o.tx_bytes;
        self.polls += o.polls;
        self.empty_polls += o.empty_polls;
        for i in 0..DropReason::COUNT {
            self.drops[i] += o.drops[i];
        }
    }
}

/// The published counters of one worker: written by that worker only, read by the main thread.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct WorkerCounters {
    rx_packets: AtomicU64,
    rx_bytes: AtomicU64,
    tx_packets: AtomicU64,
    tx_bytes: AtomicU64,
    polls: AtomicU64,
    empty_polls: AtomicU64,
    drops: [AtomicU64; DropReason::COUNT],
}

impl WorkerCounters {
    /// Publishes the worker's running totals (called by the owning worker only).
    #[inline]
    pub fn publish(&self, s: &WorkerSnapshot) {
        self.rx_packets.store(s.rx_packets, Relaxed);
        self.rx_bytes.store(s.rx_bytes, Relaxed);
        self.tx_packets.store(s.tx_packets, Relaxed);
        self.tx_bytes.store(s.tx_bytes, Relaxed);
        self.polls.store(s.polls, Relaxed);
        self.empty_polls.store(s.empty_polls, Relaxed);
        for (a, v) in self.drops.iter().zip(s.drops.iter()) {
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
            polls: self.polls.load(Relaxed),
            empty_polls: self.empty_polls.load(Relaxed),
            drops: [0; DropReason::COUNT],
        };
        for (v, a) in s.drops.iter_mut().zip(self.drops.iter()) {
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
    fn reason_names_are_distinct() {
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), DropReason::COUNT);
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
    }
}
