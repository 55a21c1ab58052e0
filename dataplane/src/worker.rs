//! The poll loop of one worker: receive a burst from each of its queues, run the pipeline on it,
//! transmit, repeat. Nothing here allocates, locks or blocks (except the optional idle sleep).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use crate::config::{IdleMode, MAX_BURST};
use crate::dpdk::{Burst, PortId, QueueId};
use crate::nodes::xconnect::{rewrite_macs, XconnectDirection};
use crate::stats::{DropReason, WorkerCounters, WorkerSnapshot};
use crate::wire::ethernet::HEADER_LEN as ETHERNET_HEADER_LEN;

/// What a worker does with the packets of one receive queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxAction {
    /// Cross-connect to another port.
    Xconnect(XconnectDirection),
    /// Drop everything, counted under this reason.
    Drop(DropReason),
}

/// One receive queue a worker polls and what it does with it.
#[derive(Debug, Clone, Copy)]
pub struct RxAssignment {
    pub port: PortId,
    pub queue: QueueId,
    pub action: RxAction,
}

/// Everything a worker needs, resolved before it starts.
#[derive(Debug, Clone)]
pub struct WorkerPlan {
    pub name: String,
    pub rx: Vec<RxAssignment>,
    /// DPDK port id of each pipeline port, by pipeline port index.
    pub ports: Vec<PortId>,
    /// This worker's transmit queue on every port.
    pub tx_queue: QueueId,
    pub burst: usize,
    pub idle: IdleMode,
    pub idle_polls: u32,
    pub sleep_us: u32,
}

/// Runs the poll loop until `stop` is set. Returns 0.
pub fn run(plan: &WorkerPlan, counters: &WorkerCounters, stop: &AtomicBool) -> i32 {
    let mut burst = Burst::new();
    let mut keep = Burst::new();
    let mut local = WorkerSnapshot::default();
    let mut empty_run: u32 = 0;
    let burst_size = plan.burst.min(MAX_BURST);
    while !stop.load(Relaxed) {
        let mut got = 0usize;
        for a in &plan.rx {
            let n = burst.rx(a.port, a.queue, burst_size);
            if n == 0 {
                continue;
            }
            got += n;
            let bytes = burst.bytes(0..n);
            local.rx_bytes += bytes;
            match a.action {
                RxAction::Xconnect(dir) => {
                    let out_port = plan.ports[dir.out_port];
                    if let Some(rw) = &dir.rewrite {
                        let mut runts = 0;
                        for i in 0..n {
                            if rewrite_macs(burst.data_mut(i), rw).is_err() {
                                runts += 1;
                            }
                        }
                        if runts > 0 {
                            // Rare: split off the runts, keeping the order of the rest.
                            for i in 0..n {
                                if burst.data(i).len() >= ETHERNET_HEADER_LEN {
                                    burst.move_to(i, &mut keep);
                                }
                            }
                            burst.clear_moved();
                            local.drops[DropReason::Runt as usize] += runts;
                            let kept_bytes = keep.bytes(0..keep.len());
                            local.count_tx(kept_bytes, keep.tx(out_port, plan.tx_queue));
                            continue;
                        }
                    }
                    local.count_tx(bytes, burst.tx(out_port, plan.tx_queue));
                }
                RxAction::Drop(reason) => {
                    burst.free_all();
                    local.drops[reason as usize] += n as u64;
                }
            }
        }
        local.polls += 1;
        // Publish every 64 rounds: the stats thread reads once per interval.
        if local.polls & 63 == 0 {
            counters.publish(&local);
        }
        if got == 0 {
            local.empty_polls += 1;
            empty_run = empty_run.saturating_add(1);
            if plan.idle == IdleMode::Sleep && empty_run >= plan.idle_polls {
                counters.publish(&local);
                std::thread::sleep(Duration::from_micros(u64::from(plan.sleep_us)));
            }
        } else {
            empty_run = 0;
            local.rx_packets += got as u64;
        }
    }
    counters.publish(&local);
    0
}
